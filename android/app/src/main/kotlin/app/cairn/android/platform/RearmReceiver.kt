package app.cairn.android.platform

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import app.cairn.android.CairnApplication
import kotlinx.coroutines.launch

/**
 * Sets the reminders again after a restart or an app update (the system drops alarms then), a
 * clock or zone change (the core plans wall-clock doses in the new zone), or a change of the
 * exact-alarm permission.
 */
class RearmReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val app = context.applicationContext as CairnApplication
        val pending = goAsync()
        app.scope.launch {
            try {
                app.rearmNotifications()
            } finally {
                pending.finish()
            }
        }
    }
}
