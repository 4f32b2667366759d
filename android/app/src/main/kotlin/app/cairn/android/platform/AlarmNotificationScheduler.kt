package app.cairn.android.platform

import android.app.AlarmManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.net.Uri
import android.os.Build
import androidx.core.app.NotificationManagerCompat
import app.cairn.core.NotificationScheduler
import app.cairn.core.NotificationSchedulerException
import app.cairn.core.model.NotificationKind
import app.cairn.core.model.NotificationPlan
import app.cairn.core.model.PlannedNotification

/**
 * The core's [NotificationScheduler] on Android: each planned reminder is an exact alarm
 * (`setExactAndAllowWhileIdle`, so Doze does not delay a dose) that wakes [ReminderReceiver] at
 * the planned instant to post the core's title and text. Alarms are keyed by the core's stable
 * notification id (in the intent's data URI), so cancelling and setting again are exact.
 *
 * When exact alarms or notifications are not allowed it throws, and the core keeps its last
 * plan: the whole diff is sent again once they are.
 */
class AlarmNotificationScheduler(context: Context) : NotificationScheduler {
    private val context = context.applicationContext
    private val alarms = this.context.getSystemService(AlarmManager::class.java)

    /** Applies the diff: cancels `plan.cancel`, sets `plan.schedule`. */
    override fun apply(plan: NotificationPlan) {
        checkAllowed()
        plan.cancel.forEach { cancel(it) }
        plan.schedule.forEach { arm(it) }
    }

    /** Sets every reminder of `plan.planned` again (after a restart the system has none). */
    fun rearm(plan: NotificationPlan) {
        checkAllowed()
        plan.cancel.forEach { cancel(it) }
        plan.planned.forEach { arm(it) }
    }

    private fun checkAllowed() {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S && !alarms.canScheduleExactAlarms()) {
            throw NotificationSchedulerException.Unavailable("exact alarms are not allowed for Cairn")
        }
        if (!NotificationManagerCompat.from(context).areNotificationsEnabled()) {
            throw NotificationSchedulerException.Unavailable("notifications are turned off for Cairn")
        }
    }

    private fun arm(notification: PlannedNotification) {
        val intent =
            intentFor(notification.id)
                .putExtra(ReminderReceiver.EXTRA_TITLE, notification.title)
                .putExtra(ReminderReceiver.EXTRA_BODY, notification.body)
                .putExtra(ReminderReceiver.EXTRA_REFILL, notification.kind == NotificationKind.REFILL)
        val pending =
            PendingIntent.getBroadcast(
                context,
                0,
                intent,
                PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
            )
        try {
            alarms.setExactAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, notification.fireAtMs, pending)
        } catch (e: SecurityException) {
            throw NotificationSchedulerException.Unavailable("exact alarms are not allowed for Cairn")
        }
    }

    private fun cancel(id: String) {
        val pending =
            PendingIntent.getBroadcast(
                context,
                0,
                intentFor(id),
                PendingIntent.FLAG_NO_CREATE or PendingIntent.FLAG_IMMUTABLE,
            ) ?: return
        alarms.cancel(pending)
        pending.cancel()
    }

    private fun intentFor(id: String): Intent =
        Intent(context, ReminderReceiver::class.java)
            .setData(Uri.Builder().scheme("cairn").authority("reminder").appendPath(id).build())
}
