package app.cairn.android.platform

import android.Manifest
import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Build
import androidx.core.app.NotificationCompat
import androidx.core.app.NotificationManagerCompat
import androidx.core.content.ContextCompat
import app.cairn.android.CairnApplication
import app.cairn.android.MainActivity
import kotlinx.coroutines.launch

/** Posts a reminder when its alarm fires, then lets the core plan the next ones. */
class ReminderReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val id = intent.data?.lastPathSegment ?: return
        val refill = intent.getBooleanExtra(EXTRA_REFILL, false)
        val open =
            PendingIntent.getActivity(
                context,
                0,
                Intent(context, MainActivity::class.java).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK or Intent.FLAG_ACTIVITY_CLEAR_TOP),
                PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
            )
        val notification =
            NotificationCompat.Builder(context, if (refill) CairnApplication.CHANNEL_REFILLS else CairnApplication.CHANNEL_DOSES)
                .setSmallIcon(android.R.drawable.ic_popup_reminder)
                .setContentTitle(intent.getStringExtra(EXTRA_TITLE))
                .setContentText(intent.getStringExtra(EXTRA_BODY))
                .setCategory(if (refill) NotificationCompat.CATEGORY_REMINDER else NotificationCompat.CATEGORY_ALARM)
                .setPriority(if (refill) NotificationCompat.PRIORITY_DEFAULT else NotificationCompat.PRIORITY_HIGH)
                // Medication names stay off the lock screen.
                .setVisibility(NotificationCompat.VISIBILITY_PRIVATE)
                .setContentIntent(open)
                .setAutoCancel(true)
                .build()
        val allowed =
            Build.VERSION.SDK_INT < Build.VERSION_CODES.TIRAMISU ||
                ContextCompat.checkSelfPermission(context, Manifest.permission.POST_NOTIFICATIONS) ==
                PackageManager.PERMISSION_GRANTED
        if (allowed) {
            NotificationManagerCompat.from(context).notify(id, 0, notification)
        }

        val app = context.applicationContext as CairnApplication
        val pending = goAsync()
        app.scope.launch {
            try {
                app.syncNotifications()
            } finally {
                pending.finish()
            }
        }
    }

    companion object {
        /** The reminder's title, from the core's plan. */
        const val EXTRA_TITLE = "app.cairn.android.extra.TITLE"

        /** The reminder's text, from the core's plan. */
        const val EXTRA_BODY = "app.cairn.android.extra.BODY"

        /** True for a refill reminder, false for a dose. */
        const val EXTRA_REFILL = "app.cairn.android.extra.REFILL"
    }
}
