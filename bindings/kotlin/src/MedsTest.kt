// Tests of medications and reminders through the generated Kotlin bindings: a chemotherapy
// cycle, notifications planned across a DST change by the app's scheduler, a dose logged,
// adherence read back.
package app.cairn.core.test

import app.cairn.core.model.CairnException
import app.cairn.core.CairnStore
import app.cairn.core.Clock
import app.cairn.core.NotificationScheduler
import app.cairn.core.NotificationSchedulerException
import app.cairn.core.model.DoseStatus
import app.cairn.core.model.Medication
import app.cairn.core.model.NotificationKind
import app.cairn.core.model.NotificationPlan
import app.cairn.core.model.Phase
import app.cairn.core.model.TimeZonePolicy
import app.cairn.core.model.Timing
import app.cairn.core.phaseToRrule
import java.io.File
import java.time.Instant
import java.time.OffsetDateTime
import java.time.ZoneId
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList

const val NEW_YORK = "America/New_York"

/** The phone's clock in a test: an instant and a zone the test moves. */
class PhoneClock(@Volatile var instant: Instant, @Volatile var zone: String) : Clock {
    override fun now(): Instant = instant
    override fun timeZone(): String = zone
}

/** The clock an Android app hands the core: the system's instant and default zone. */
object DeviceClock : Clock {
    override fun now(): Instant = Instant.now()
    override fun timeZone(): String = ZoneId.systemDefault().id
}

/** Letrozole, one tablet at 08:00 every day from 1 March 2026. */
fun morningPill(): Medication = capecitabine().copy(
    name = "Letrozole",
    stock = null,
    phases = listOf(
        capecitabine().phases[0].copy(
            dose = 1.0,
            timing = Timing.TimesOfDay(times = listOf("08:00"), daysOfWeek = listOf()),
            start = "2026-03-01",
        ),
    ),
)

fun instant(rfc3339: String): Instant = OffsetDateTime.parse(rfc3339).toInstant()

/** Capecitabine, 3 tablets at 08:00 and 20:00, 14 days on and 7 off from 2 March 2026. */
fun capecitabine(): Medication = Medication(
    id = "",
    name = "Capecitabine",
    strength = "500 mg",
    form = "tablet",
    route = "oral",
    instructions = "within 30 minutes after a meal",
    prescriber = "",
    code = null,
    timeZonePolicy = TimeZonePolicy.WallClock,
    lateWindowMinutes = 180u,
    stock = 84.0,
    stockCountedAt = null,
    refillThresholdDays = 7u,
    phases = listOf(
        Phase(
            dose = 3.0,
            unit = "tablet",
            timing = Timing.Cycle(daysOn = 14u, daysOff = 7u, times = listOf("08:00", "20:00"), cycles = null),
            start = "2026-03-02",
            end = null,
            count = null,
        ),
    ),
    cycleStarts = emptyList(),
)

/**
 * The app's scheduler: holds what it is handed (id to fire time), as the platform does, and
 * records each diff; or refuses like a denied permission.
 */
class RecordingScheduler(private val refuse: Boolean = false) : NotificationScheduler {
    val plans = CopyOnWriteArrayList<NotificationPlan>()
    val held = ConcurrentHashMap<String, Instant>()

    override fun pending(): List<String> = held.keys.toList()

    override fun apply(plan: NotificationPlan) {
        if (refuse) throw NotificationSchedulerException.Unavailable("exact alarms are not allowed")
        plan.cancel.forEach { held.remove(it) }
        plan.schedule.forEach { held[it.id] = it.fireAt }
        plans += plan
    }

    /** The reminders due before [until] fire and leave the platform. */
    fun fireUntil(until: Instant) {
        held.entries.removeIf { it.value < until }
    }
}

val medsTests = listOf(
    TestCase("meds: a 14/7 cycle planned across the spring-forward night, a dose logged, the days before missed, adherence") {
        withTempDir { dir ->
            // The pills are added the day before the cycle starts; the test moves the phone's clock.
            val phone = PhoneClock(instant("2026-03-01T09:00:00-05:00"), NEW_YORK)
            CairnStore.openWithKeyStore(File(dir, "store").path, MemoryKeyStore(), phone).using { store ->
                val id = store.addMedication(capecitabine())
                val saved = store.medication(id)
                assertEquals("Capecitabine", saved.name, "name")
                assertEquals(instant("2026-03-01T09:00:00-05:00"), saved.stockCountedAt, "stock is counted when added, on the phone's clock")

                phone.instant = instant("2026-03-07T12:00:00-05:00")
                val scheduler = RecordingScheduler()
                val plan = store.syncNotifications(scheduler, 64u)
                assertEquals(64, plan.planned.size, "planned")
                assertEquals(1, scheduler.plans.size, "the scheduler got the diff")
                assertEquals(64, scheduler.plans[0].schedule.size, "all new")
                val times = plan.planned.take(3).map { it.fireAtLocal.substring(0, 25) }
                assertEquals(
                    listOf("2026-03-07T20:00:00-05:00", "2026-03-08T08:00:00-04:00", "2026-03-08T20:00:00-04:00"),
                    times,
                    "08:00 stays 08:00 after the clocks go forward",
                )
                assertEquals(1, plan.planned.count { it.kind == NotificationKind.REFILL }, "one refill alert (84 tablets, 7 days' threshold)")
                // Day 15 to 21 of the cycle are rest days: no reminder on 17 March.
                assertTrue(plan.planned.none { it.fireAtLocal.startsWith("2026-03-17") }) { "no doses on rest days" }
                assertTrue(plan.planned.any { it.fireAtLocal.startsWith("2026-03-23T08:00") }) { "cycle 2 starts 23 March" }

                phone.instant = instant("2026-03-07T20:40:00-05:00")
                val logged = store.takeDose(id, null, null, null)
                assertEquals(DoseStatus.TAKEN, logged.status, "taken within the hour is on time")
                assertEquals(instant("2026-03-07T20:00:00-05:00"), logged.scheduledAt, "matched to 20:00")

                phone.instant = instant("2026-03-07T20:41:00-05:00")
                scheduler.fireUntil(phone.instant)
                val next = store.syncNotifications(scheduler, 64u)
                // The 20:00 reminder has fired, so no dose reminder is cancelled but the old last
                // slot, which loses its runs-dry note; the dose taken moves the refill projection,
                // so a refill alert may be replaced.
                val kinds = plan.planned.associate { it.id to it.kind }
                val oldLast = plan.planned.last()
                assertTrue(plan.runsDry && oldLast.lastInWindow) { "64 slots run dry" }
                assertTrue(next.cancel.all { kinds[it] == NotificationKind.REFILL || it == oldLast.id }) { "only a refill alert and the old last slot are withdrawn: ${next.cancel}" }
                assertEquals(2, next.schedule.count { it.kind == NotificationKind.DOSE }, "the old last slot again, and one more dose reminder at the end of the window")
                assertEquals(next.planned.map { it.id }.toSet(), scheduler.held.keys.toSet(), "the platform holds the plan")

                phone.instant = instant("2026-03-07T21:00:00-05:00")
                val day = store.dosesOn("2026-03-07")
                assertEquals(listOf(DoseStatus.MISSED, DoseStatus.TAKEN), day.map { it.status }, "7 March: 08:00 missed, 20:00 taken")

                phone.instant = instant("2026-03-08T00:00:00-05:00")
                val adherence = store.adherence("2026-03-02", "2026-03-07")
                assertEquals(12u, adherence.overall.scheduled, "scheduled")
                assertEquals(1u, adherence.overall.takenOnTime, "taken on time")
                assertEquals(11u, adherence.overall.missed, "missed")
                assertEquals("Capecitabine", adherence.perMedication.single().medicationName, "per medication")

                assertEquals(null, phaseToRrule(capecitabine().phases[0], TimeZonePolicy.WallClock), "a cycle is not one RRULE")
            }
        }
    },
    TestCase("meds: a scheduler that refuses leaves the diff to send again; bad input is Invalid") {
        withTempDir { dir ->
            val phone = PhoneClock(instant("2026-03-07T12:00:00-05:00"), NEW_YORK)
            CairnStore.openWithKeyStore(File(dir, "store").path, MemoryKeyStore(), phone).using { store ->
                store.addMedication(capecitabine())
                assertThrows<CairnException.Scheduler>("a refusing scheduler") {
                    store.syncNotifications(RecordingScheduler(refuse = true), 8u)
                }
                val scheduler = RecordingScheduler()
                val plan = store.syncNotifications(scheduler, 8u)
                assertEquals(8, plan.schedule.size, "the whole diff again")
                phone.zone = "Atlantis/Capital"
                assertThrows<CairnException.Invalid>("an unknown zone") {
                    store.planNotifications(8u)
                }
                phone.zone = NEW_YORK
                val bad = capecitabine().copy(
                    phases = listOf(capecitabine().phases[0].copy(timing = Timing.EveryNHours(everyHours = 0u, anchor = "08:00"))),
                )
                assertThrows<CairnException.Invalid>("a zero interval") { store.addMedication(bad) }
            }
        }
    },
    TestCase("meds: a restored phone whose platform holds nothing gets every reminder again; a re-arm") {
        withTempDir { dir ->
            val phone = PhoneClock(instant("2026-03-07T12:00:00-05:00"), NEW_YORK)
            CairnStore.openWithKeyStore(File(dir, "store").path, MemoryKeyStore(), phone).using { store ->
                store.addMedication(capecitabine().copy(stock = null, refillThresholdDays = null))
                val before = RecordingScheduler()
                val first = store.syncNotifications(before, 8u)
                assertEquals(first.planned.map { it.id }.toSet(), before.held.keys.toSet(), "held")
                assertTrue(store.planNotifications(8u).schedule.isEmpty()) { "committed" }

                // Restored onto a new phone: the store says all is set, the platform holds nothing.
                val restored = RecordingScheduler()
                val again = store.syncNotifications(restored, 8u)
                assertEquals(first.planned.map { it.id }, again.schedule.map { it.id }, "every reminder scheduled again")
                assertEquals(first.planned.map { it.id }.toSet(), restored.held.keys.toSet(), "the new platform holds them")

                val rearm = store.rearmNotifications(restored, 8u)
                assertEquals(first.planned.map { it.id }.toSet(), rearm.cancel.toSet(), "a re-arm cancels everything held")
                assertEquals(rearm.planned, rearm.schedule, "and schedules the whole plan")
                assertEquals(rearm.planned.map { it.id }.toSet(), restored.held.keys.toSet(), "held after the re-arm")
                assertTrue(rearm.runsDry && rearm.planned.last().lastInWindow) { "8 slots run dry" }
                assertEquals(rearm.planned.last().fireAt, rearm.reachesUntil, "reaches its last slot")
            }
        }
    },
    TestCase("clock: the app's clock sets now and the zone, and yesterday's untaken dose is missed") {
        withTempDir { dir ->
            val phone = PhoneClock(instant("2026-03-05T07:00:00-05:00"), NEW_YORK)
            CairnStore.openWithKeyStore(File(dir, "store").path, MemoryKeyStore(), phone).using { store ->
                assertEquals(NEW_YORK, store.timeZone(), "the phone's zone")
                store.addMedication(morningPill())
                val before = store.dosesOn("2026-03-05")
                assertEquals(1, before.size, "one dose that day")
                assertEquals(DoseStatus.UPCOMING, before[0].status, "08:00 is still to come")
                assertEquals(instant("2026-03-05T08:00:00-05:00"), before[0].scheduledAt, "08:00 in New York, not UTC")
                phone.instant = instant("2026-03-06T09:00:00-05:00")
                assertEquals(DoseStatus.MISSED, store.dosesOn("2026-03-05")[0].status, "a day later, untaken")
                phone.zone = "Asia/Tokyo"
                assertEquals("Asia/Tokyo", store.timeZone(), "a zone change takes effect on the next call")
                phone.zone = "Atlantis/Capital"
                assertThrows<CairnException.Invalid>("a zone the core does not know") { store.medications() }
            }
        }
    },
    TestCase("clock: an app clock built on ZoneId.systemDefault() carries the phone's zone, not UTC") {
        val saved = java.util.TimeZone.getDefault()
        try {
            java.util.TimeZone.setDefault(java.util.TimeZone.getTimeZone("Australia/Adelaide"))
            withTempDir { dir ->
                CairnStore.openWithKeyStore(File(dir, "store").path, MemoryKeyStore(), DeviceClock).using { store ->
                    assertEquals("Australia/Adelaide", store.timeZone(), "the JVM's default zone reaches the core")
                }
            }
        } finally {
            java.util.TimeZone.setDefault(saved)
        }
    },
)
