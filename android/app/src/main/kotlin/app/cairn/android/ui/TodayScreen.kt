package app.cairn.android.ui

import android.app.AlarmManager
import android.content.Context
import android.content.Intent
import android.net.Uri
import android.os.Build
import android.provider.Settings
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.cairn.android.CairnApplication
import app.cairn.core.CairnStore
import app.cairn.core.model.DoseOccurrence
import app.cairn.core.model.DoseStatus
import app.cairn.core.model.Medication
import app.cairn.core.model.RefillStatus
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** What the person did about a dose. */
private sealed interface DoseAction {
    data object Take : DoseAction

    data object Skip : DoseAction

    data class Snooze(val minutes: UInt) : DoseAction

    /** Withdraws a logged dose (a mistaken tap). */
    data object Undo : DoseAction
}

/** Today's doses and where each stands, medications to log a dose of now, and refills due. */
@Composable
fun TodayScreen(app: CairnApplication, store: CairnStore) {
    val generation by app.generation.collectAsStateWithLifecycle()
    val notificationProblem by app.notificationProblem.collectAsStateWithLifecycle()
    var doses by remember { mutableStateOf(emptyList<DoseOccurrence>()) }
    var medications by remember { mutableStateOf(emptyList<Medication>()) }
    var refills by remember { mutableStateOf(emptyList<RefillStatus>()) }
    var message by remember { mutableStateOf<String?>(null) }
    val scope = rememberCoroutineScope()
    val context = LocalContext.current

    LaunchedEffect(generation) {
        try {
            val (today, all, low) =
                withContext(Dispatchers.IO) {
                    Triple(store.dosesToday(), store.medications(), store.refillStatus().filter { it.needsRefill })
                }
            doses = today
            medications = all
            refills = low
        } catch (e: Exception) {
            message = describe(e)
        }
    }

    /** Runs a dose call off the main thread; shows what it returns (a warning, a confirmation). */
    fun log(call: () -> String?) {
        scope.launch {
            message =
                try {
                    withContext(Dispatchers.IO) { call() }
                } catch (e: Exception) {
                    describe(e)
                }
            app.refresh()
        }
    }

    fun act(action: DoseAction, dose: DoseOccurrence) =
        log {
            when (action) {
                DoseAction.Take -> store.takeDose(dose.medicationId, null, null, dose.id).warnings.firstOrNull()?.text
                DoseAction.Skip -> store.skipDose(dose.medicationId, dose.id, null).warnings.firstOrNull()?.text
                is DoseAction.Snooze -> store.snoozeDose(dose.medicationId, dose.id, action.minutes).warnings.firstOrNull()?.text
                DoseAction.Undo -> {
                    store.undoDose(dose.doseId)
                    null
                }
            }
        }

    LazyColumn(Modifier.fillMaxWidth()) {
        item { ScreenTitle("Today") }
        message?.let { item { Notice(it) } }
        notificationProblem?.let { problem ->
            item {
                Column {
                    Notice("Reminders are off: $problem")
                    TextButton(onClick = { openReminderSettings(context) }, modifier = Modifier.padding(horizontal = 8.dp)) {
                        Text("Reminder settings")
                    }
                }
            }
        }
        if (doses.isEmpty()) {
            item { Quiet("No doses scheduled today.") }
        }
        items(doses, key = { it.id }) { dose ->
            DoseRow(dose) { action -> act(action, dose) }
            HorizontalDivider()
        }
        if (medications.isNotEmpty()) {
            item { SectionTitle("Log a dose now") }
            items(medications, key = { "med-" + it.id }) { medication ->
                ListItem(
                    headlineContent = { Text(medication.name) },
                    supportingContent = { Text(medication.strength) },
                    trailingContent = {
                        TextButton(onClick = {
                            log {
                                val logged = store.takeDose(medication.id, null, null, null)
                                if (logged.warnings.isEmpty()) {
                                    "Logged ${medication.name}."
                                } else {
                                    logged.warnings.joinToString("\n") { it.text }
                                }
                            }
                        }) { Text("Taken now") }
                    },
                )
            }
        }
        if (refills.isNotEmpty()) {
            item { SectionTitle("Refills") }
            items(refills, key = { "refill-" + it.medicationId }) { refill ->
                ListItem(
                    headlineContent = { Text(refill.medicationName) },
                    supportingContent = {
                        Text(
                            refill.daysLeft?.let { "${amountText(it)} days left" }
                                ?: "${amountText(refill.remaining)} left",
                        )
                    },
                )
            }
        }
    }
}

@Composable
private fun DoseRow(dose: DoseOccurrence, act: (DoseAction) -> Unit) {
    Column(Modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 10.dp)) {
        Row(Modifier.fillMaxWidth(), horizontalArrangement = Arrangement.SpaceBetween) {
            Text(dose.medicationName, style = MaterialTheme.typography.titleMedium)
            Text(timeText(dose.scheduledAt), style = MaterialTheme.typography.titleMedium)
        }
        Row(Modifier.fillMaxWidth(), horizontalArrangement = Arrangement.SpaceBetween) {
            Text("${amountText(dose.dose)} ${dose.unit}")
            Text(statusText(dose), color = MaterialTheme.colorScheme.onSurfaceVariant)
        }
        if (dose.status.isOpen) {
            Row(Modifier.padding(top = 6.dp), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                Button(onClick = { act(DoseAction.Take) }) { Text("Take") }
                OutlinedButton(onClick = { act(DoseAction.Skip) }) { Text("Skip") }
                OutlinedButton(onClick = { act(DoseAction.Snooze(10u)) }) { Text("In 10 min") }
            }
        } else {
            OutlinedButton(onClick = { act(DoseAction.Undo) }, modifier = Modifier.padding(top = 6.dp)) { Text("Undo") }
        }
    }
}

/**
 * The system screen where the person allows what reminders need: exact alarms on Android 12 when
 * they are off, otherwise Cairn's notification settings.
 */
private fun openReminderSettings(context: Context) {
    val alarms = context.getSystemService(AlarmManager::class.java)
    val intent =
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S && !alarms.canScheduleExactAlarms()) {
            Intent(Settings.ACTION_REQUEST_SCHEDULE_EXACT_ALARM, Uri.fromParts("package", context.packageName, null))
        } else {
            Intent(Settings.ACTION_APP_NOTIFICATION_SETTINGS).putExtra(Settings.EXTRA_APP_PACKAGE, context.packageName)
        }
    context.startActivity(intent)
}

private fun statusText(dose: DoseOccurrence): String {
    dose.takenAt?.let { return "${dose.status.label} at ${timeText(it)}" }
    val until = dose.snoozedUntil
    if (until != null && dose.status == DoseStatus.SNOOZED) return "Snoozed until ${timeText(until)}"
    return dose.status.label
}
