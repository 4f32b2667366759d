package app.cairn.android.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp

/**
 * The care team. The core does not have spaces, members and invitations yet, so this screen says
 * so plainly instead of showing anything made up.
 */
@Composable
fun CareTeamScreen() {
    Column(Modifier.fillMaxSize().padding(24.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text("Care team", style = MaterialTheme.typography.headlineMedium)
        Text("Care team is not available yet", style = MaterialTheme.typography.titleMedium)
        Text(
            "Sharing your record with caregivers you choose will come in a later version. " +
                "Until then, everything you record stays on this device, encrypted.",
            style = MaterialTheme.typography.bodyMedium,
        )
    }
}
