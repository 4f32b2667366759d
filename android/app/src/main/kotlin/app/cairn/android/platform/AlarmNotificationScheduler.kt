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
 * AlarmManager cannot list alarms, so the ids armed (with their fire times) are kept in
 * SharedPreferences, and [pending] reports only those still ahead whose PendingIntent still
 * exists: a force stop, a reboot or a revoked exact-alarm permission removes the app's
 * PendingIntents without a word, and the core then sets those reminders again.
 *
 * When exact alarms or notifications are not allowed [apply] throws, and the core keeps its
 * last plan; the next sync reconciles with what is then armed.
 */
class AlarmNotificationScheduler(context: Context) : NotificationScheduler {
    private val context = context.applicationContext
    private val alarms = this.context.getSystemService(AlarmManager::class.java)
    private val armed = this.context.getSharedPreferences(ARMED_PREFS, Context.MODE_PRIVATE)

    /** The ids of Cairn's alarms still ahead and still set; forgets the others. */
    @Synchronized
    override fun pending(): List<String> {
        val now = System.currentTimeMillis()
        val held = mutableListOf<String>()
        val editor = armed.edit()
        for ((id, fireAt) in armed.all) {
            if (fireAt is Long && fireAt > now && exists(id)) {
                held += id
            } else {
                editor.remove(id)
            }
        }
        editor.commit()
        return held
    }

    /** Applies the diff: cancels `plan.cancel`, sets `plan.schedule`. */
    @Synchronized
    override fun apply(plan: NotificationPlan) {
        checkAllowed()
        val editor = armed.edit()
        try {
            plan.cancel.forEach {
                cancel(it)
                editor.remove(it)
            }
            plan.schedule.forEach {
                arm(it)
                editor.putLong(it.id, it.fireAt.toEpochMilli())
            }
        } finally {
            // What was armed before a failure is recorded, so the next sync knows it is set.
            editor.commit()
        }
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
            alarms.setExactAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, notification.fireAt.toEpochMilli(), pending)
        } catch (e: SecurityException) {
            throw NotificationSchedulerException.Unavailable("exact alarms are not allowed for Cairn")
        }
    }

    private fun exists(id: String): Boolean =
        PendingIntent.getBroadcast(
            context,
            0,
            intentFor(id),
            PendingIntent.FLAG_NO_CREATE or PendingIntent.FLAG_IMMUTABLE,
        ) != null

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

    private companion object {
        /** SharedPreferences of the armed alarms: notification id to fire time (ms). */
        const val ARMED_PREFS = "cairn_armed_reminders"
    }
}
