package app.cairn.android

import android.Manifest
import android.os.Build
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.DateRange
import androidx.compose.material.icons.filled.Lock
import androidx.compose.material.icons.filled.Notifications
import androidx.compose.material.icons.filled.Person
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.Icon
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.vector.ImageVector
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.cairn.android.ui.CareTeamScreen
import app.cairn.android.ui.DocumentsScreen
import app.cairn.android.ui.TimelineScreen
import app.cairn.android.ui.TodayScreen
import app.cairn.core.CairnStore

/** The one activity: the four tabs once the store is open. */
class MainActivity : ComponentActivity() {
    private val app get() = application as CairnApplication

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent {
            MaterialTheme {
                CairnRoot(app)
            }
        }
    }

    override fun onResume() {
        super.onResume()
        // Back in the foreground: read again and plan the reminders from now.
        app.refresh()
    }
}

@Composable
private fun CairnRoot(app: CairnApplication) {
    val state by app.state.collectAsStateWithLifecycle()
    val askForNotifications =
        rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { app.refresh() }
    LaunchedEffect(Unit) {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
            askForNotifications.launch(Manifest.permission.POST_NOTIFICATIONS)
        }
    }
    when (val current = state) {
        StoreState.Opening ->
            Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { CircularProgressIndicator() }
        is StoreState.Failed ->
            Column(Modifier.fillMaxSize().padding(24.dp), verticalArrangement = Arrangement.Center) {
                Text("Cairn could not open your record", style = MaterialTheme.typography.titleLarge)
                Text(current.message, style = MaterialTheme.typography.bodyMedium)
            }
        is StoreState.Open -> Tabs(app, current.store)
    }
}

private enum class Tab(val label: String, val icon: ImageVector) {
    TODAY("Today", Icons.Filled.Notifications),
    TIMELINE("Timeline", Icons.Filled.DateRange),
    DOCUMENTS("Documents", Icons.Filled.Lock),
    CARE_TEAM("Care team", Icons.Filled.Person),
}

@Composable
private fun Tabs(app: CairnApplication, store: CairnStore) {
    var selected by rememberSaveable { mutableIntStateOf(0) }
    Scaffold(
        bottomBar = {
            NavigationBar {
                Tab.entries.forEachIndexed { index, tab ->
                    NavigationBarItem(
                        selected = selected == index,
                        onClick = { selected = index },
                        icon = { Icon(tab.icon, contentDescription = null) },
                        label = { Text(tab.label) },
                    )
                }
            }
        },
    ) { padding ->
        Box(Modifier.padding(padding)) {
            when (Tab.entries[selected]) {
                Tab.TODAY -> TodayScreen(app, store)
                Tab.TIMELINE -> TimelineScreen(app, store)
                Tab.DOCUMENTS -> DocumentsScreen(app, store)
                Tab.CARE_TEAM -> CareTeamScreen()
            }
        }
    }
}
