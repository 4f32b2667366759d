package app.cairn.android.platform

import app.cairn.core.Clock
import java.time.Instant
import java.time.ZoneId

/**
 * "Now" and the phone's zone for the core, read on every call: a flight or a zone change is seen
 * on the next one, and [RearmReceiver] re-plans the reminders on `ACTION_TIMEZONE_CHANGED`.
 */
object DeviceClock : Clock {
    override fun now(): Instant = Instant.now()
    override fun timeZone(): String = ZoneId.systemDefault().id
}
