package app.cairn.android.ui

import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Add
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.FloatingActionButton
import androidx.compose.material3.Icon
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.cairn.android.CairnApplication
import app.cairn.core.CairnStore
import app.cairn.core.model.DayGroup
import app.cairn.core.model.EventDetails
import app.cairn.core.model.NewEvent
import app.cairn.core.model.TimelineEvent
import app.cairn.core.model.TimelineQuery
import java.time.Instant
import java.time.ZoneId
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** Events per page. */
private const val PAGE_SIZE: UInt = 50u

/** The journey, newest first, grouped by day in the device's zone; search, older pages, notes. */
@Composable
fun TimelineScreen(app: CairnApplication, store: CairnStore) {
    val generation by app.generation.collectAsStateWithLifecycle()
    var query by remember { mutableStateOf("") }
    var days by remember { mutableStateOf(emptyList<DayGroup>()) }
    var older by remember { mutableStateOf<String?>(null) }
    var message by remember { mutableStateOf<String?>(null) }
    var addingNote by remember { mutableStateOf(false) }
    val scope = rememberCoroutineScope()

    suspend fun load(cursor: String?) {
        val filter = TimelineQuery(text = query.ifBlank { null })
        val zone = ZoneId.systemDefault().id
        try {
            val page = withContext(Dispatchers.IO) { store.timelineDays(filter, cursor, PAGE_SIZE, zone) }
            days = if (cursor == null) page.days else days + page.days
            older = page.older
            message = null
        } catch (e: Exception) {
            message = describe(e)
        }
    }

    LaunchedEffect(generation, query) { load(null) }

    Box(Modifier.fillMaxSize()) {
        LazyColumn(Modifier.fillMaxWidth()) {
            item { ScreenTitle("Timeline") }
            item {
                OutlinedTextField(
                    value = query,
                    onValueChange = { query = it },
                    label = { Text("Search") },
                    singleLine = true,
                    modifier = Modifier.fillMaxWidth().padding(horizontal = 16.dp),
                )
            }
            message?.let { item { Notice(it) } }
            if (days.isEmpty()) {
                item { Quiet(if (query.isBlank()) "Nothing on your timeline yet." else "No events match.") }
            }
            days.forEach { day ->
                item(key = "day-" + day.date) { SectionTitle(dayText(day.date)) }
                items(day.events, key = { it.id }) { entry -> EntryRow(entry) }
            }
            older?.let { cursor ->
                item {
                    TextButton(onClick = { scope.launch { load(cursor) } }, modifier = Modifier.padding(16.dp)) {
                        Text("Show older")
                    }
                }
            }
        }
        FloatingActionButton(
            onClick = { addingNote = true },
            modifier = Modifier.align(Alignment.BottomEnd).padding(16.dp),
        ) {
            Icon(Icons.Filled.Add, contentDescription = "Add a note")
        }
    }

    if (addingNote) {
        NoteDialog(
            store = store,
            onDone = {
                addingNote = false
                app.refresh()
            },
            onCancel = { addingNote = false },
        )
    }
}

@Composable
private fun EntryRow(entry: TimelineEvent) {
    ListItem(
        overlineContent = {
            val flags = entry.flags.joinToString("") { " · " + it.label }
            Text(entry.kind.label + flags)
        },
        headlineContent = { Text(entry.title.ifEmpty { entry.kind.label }) },
        supportingContent = entry.body.takeIf { it.isNotEmpty() }?.let { body -> @Composable { Text(body, maxLines = 2) } },
        trailingContent = { Text(timeText(entry.occurredAt), style = MaterialTheme.typography.labelMedium) },
    )
}

/** A note added to the timeline now, in the device's zone. */
@Composable
private fun NoteDialog(store: CairnStore, onDone: () -> Unit, onCancel: () -> Unit) {
    var title by remember { mutableStateOf("") }
    var text by remember { mutableStateOf("") }
    var message by remember { mutableStateOf<String?>(null) }
    val scope = rememberCoroutineScope()
    AlertDialog(
        onDismissRequest = onCancel,
        title = { Text("New note") },
        text = {
            Column {
                OutlinedTextField(value = title, onValueChange = { title = it }, label = { Text("Title") })
                OutlinedTextField(
                    value = text,
                    onValueChange = { text = it },
                    label = { Text("What happened") },
                    minLines = 3,
                )
                message?.let { Row { Notice(it) } }
            }
        },
        confirmButton = {
            TextButton(onClick = {
                val entry =
                    NewEvent(
                        occurredAt = Instant.now(),
                        recordedZone = null,
                        endsAt = null,
                        title = title,
                        body = text,
                        tags = emptyList(),
                        details = EventDetails.Note,
                        medicationIds = emptyList(),
                        documentIds = emptyList(),
                    )
                scope.launch {
                    try {
                        withContext(Dispatchers.IO) { store.addEvent(entry) }
                        onDone()
                    } catch (e: Exception) {
                        // The core names the field and the reason (e.g. a note needs a title).
                        message = describe(e)
                    }
                }
            }) { Text("Save") }
        },
        dismissButton = { TextButton(onClick = onCancel) { Text("Cancel") } },
    )
}
