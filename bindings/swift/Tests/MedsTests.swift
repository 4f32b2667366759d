// Tests of medications and reminders through the generated Swift bindings: a chemotherapy cycle
// planned across a DST change by the app's scheduler, a dose logged, adherence read back.
import Foundation

let newYork = "America/New_York"

func epochMs(_ rfc3339: String) throws -> Int64 {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    let date = try f.date(from: rfc3339).orThrow("not RFC 3339: \(rfc3339)")
    return Int64((date.timeIntervalSince1970 * 1000).rounded())
}

/// Capecitabine, 3 tablets at 08:00 and 20:00, 14 days on and 7 off from 2 March 2026.
func capecitabine(timing: Timing? = nil) -> Medication {
    Medication(
        id: "", name: "Capecitabine", strength: "500 mg", form: "tablet", route: "oral",
        instructions: "within 30 minutes after a meal", prescriber: "", code: nil,
        timeZonePolicy: .wallClock, lateWindowMinutes: 180, stock: nil, stockCountedAt: nil,
        refillThresholdDays: nil,
        phases: [
            Phase(
                dose: 3, unit: "tablet",
                timing: timing ?? .cycle(daysOn: 14, daysOff: 7, times: ["08:00", "20:00"], cycles: nil),
                start: "2026-03-02", end: nil, count: nil)
        ],
        cycleStarts: [])
}

/// The app's scheduler: holds what it is handed (id to fire time), as the platform does, and
/// records each diff; or refuses like a denied permission.
final class RecordingScheduler: NotificationScheduler, @unchecked Sendable {
    private let lock = NSLock()
    private var received: [NotificationPlan] = []
    private var holding: [String: Date] = [:]
    let refuse: Bool

    init(refuse: Bool = false) { self.refuse = refuse }

    var plans: [NotificationPlan] { lock.lock(); defer { lock.unlock() }; return received }
    var held: Set<String> { lock.lock(); defer { lock.unlock() }; return Set(holding.keys) }

    func pending() throws -> [String] {
        lock.lock(); defer { lock.unlock() }
        return Array(holding.keys)
    }

    func apply(plan: NotificationPlan) throws {
        if refuse { throw NotificationSchedulerError.Unavailable(reason: "notifications are off") }
        lock.lock(); defer { lock.unlock() }
        for id in plan.cancel { holding[id] = nil }
        for n in plan.schedule { holding[n.id] = n.fireAt }
        received.append(plan)
    }

    /// The reminders due before `until` fire and leave the platform.
    func fire(until: Date) {
        lock.lock(); defer { lock.unlock() }
        holding = holding.filter { $0.value >= until }
    }
}

func testCyclePlannedAcrossDstDoseLoggedAdherence(_ tmp: TempDir) async throws {
    // The pills are added the day before the cycle starts; the test moves the phone's clock.
    let phone = PhoneClock(instant(try epochMs("2026-03-01T09:00:00-05:00")), newYork)
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: MemoryKeyStore(), clock: phone)
    defer { store.closeStore() }
    let id = try store.addMedication(medication: capecitabine())

    phone.set(instant(try epochMs("2026-03-07T12:00:00-05:00")), newYork)
    let scheduler = RecordingScheduler()
    let plan = try store.syncNotifications(scheduler: scheduler, max: 64)
    try expectEqual(plan.planned.count, 64, "planned")
    try expectEqual(scheduler.plans.count, 1, "the scheduler got the diff")
    let first = plan.planned.prefix(3).map { String($0.fireAtLocal.prefix(25)) }
    try expectEqual(
        first,
        ["2026-03-07T20:00:00-05:00", "2026-03-08T08:00:00-04:00", "2026-03-08T20:00:00-04:00"],
        "08:00 stays 08:00 after the clocks go forward")
    try expect(!plan.planned.contains { $0.fireAtLocal.hasPrefix("2026-03-17") }, "no doses on rest days")

    phone.set(instant(try epochMs("2026-03-07T20:40:00-05:00")), newYork)
    let logged = try store.takeDose(medicationId: id, takenAt: nil, amount: nil, occurrenceId: nil)
    try expectEqual(logged.status, .taken, "taken within the hour is on time")
    try expectEqual(logged.scheduledAt, instant(try epochMs("2026-03-07T20:00:00-05:00")), "matched to 20:00")

    phone.set(instant(try epochMs("2026-03-07T20:41:00-05:00")), newYork)
    scheduler.fire(until: instant(try epochMs("2026-03-07T20:41:00-05:00")))
    let next = try store.syncNotifications(scheduler: scheduler, max: 64)
    // The 20:00 reminder had fired: the only cancel is the old last slot, which loses its
    // runs-dry note and comes back without it, beside one more reminder at the window's end.
    try expect(plan.runsDry && plan.planned[63].lastInWindow, "64 slots run dry")
    try expectEqual(next.cancel, [plan.planned[63].id], "only the old last slot is withdrawn")
    try expectEqual(next.schedule.count, 2, "the old last slot again, and one more reminder")
    try expectEqual(scheduler.held, Set(next.planned.map(\.id)), "the platform holds the plan")

    phone.set(instant(try epochMs("2026-03-07T21:00:00-05:00")), newYork)
    try expectEqual(
        try store.dosesOn(date: "2026-03-07").map(\.status), [.missed, .taken],
        "7 March: 08:00 missed, 20:00 taken")

    phone.set(instant(try epochMs("2026-03-08T00:00:00-05:00")), newYork)
    let adherence = try store.adherence(from: "2026-03-02", to: "2026-03-07")
    try expectEqual(adherence.overall.scheduled, 12, "scheduled")
    try expectEqual(adherence.overall.takenOnTime, 1, "taken on time")
    try expectEqual(adherence.overall.missed, 11, "missed")
    try expectEqual(
        try phaseToRrule(phase: capecitabine().phases[0], timeZonePolicy: .wallClock), nil,
        "a cycle is not one RRULE")
}

func testRefusingSchedulerAndBadInput(_ tmp: TempDir) async throws {
    let phone = PhoneClock(instant(try epochMs("2026-03-07T12:00:00-05:00")), newYork)
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: MemoryKeyStore(), clock: phone)
    defer { store.closeStore() }
    _ = try store.addMedication(medication: capecitabine())
    try expectThrows(.scheduler) {
        try store.syncNotifications(scheduler: RecordingScheduler(refuse: true), max: 8)
    }
    let plan = try store.syncNotifications(scheduler: RecordingScheduler(), max: 8)
    try expectEqual(plan.schedule.count, 8, "the whole diff again after a refusal")
    phone.set(phone.now(), "Atlantis/Capital")
    try expectThrows(.invalid) {
        try store.planNotifications(max: 8)
    }
    phone.set(phone.now(), newYork)
    try expectThrows(.invalid) {
        try store.addMedication(medication: capecitabine(timing: .everyNHours(everyHours: 0, anchor: "08:00")))
    }
}

func testRestoredPhoneGetsEveryReminderAgainAndRearm(_ tmp: TempDir) async throws {
    let phone = PhoneClock(instant(try epochMs("2026-03-07T12:00:00-05:00")), newYork)
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: MemoryKeyStore(), clock: phone)
    defer { store.closeStore() }
    _ = try store.addMedication(medication: capecitabine())
    let before = RecordingScheduler()
    let first = try store.syncNotifications(scheduler: before, max: 8)
    let ids = Set(first.planned.map(\.id))
    try expectEqual(before.held, ids, "held")

    // Restored onto a new phone: the store says all is set, the platform holds nothing.
    let restored = RecordingScheduler()
    let again = try store.syncNotifications(scheduler: restored, max: 8)
    try expectEqual(again.schedule.map(\.id), first.planned.map(\.id), "every reminder scheduled again")
    try expectEqual(restored.held, ids, "the new platform holds them")

    let rearm = try store.rearmNotifications(scheduler: restored, max: 8)
    try expectEqual(Set(rearm.cancel), ids, "a re-arm cancels everything held")
    try expectEqual(rearm.schedule, rearm.planned, "and schedules the whole plan")
    try expectEqual(restored.held, ids, "held after the re-arm")
    try expectEqual(rearm.reachesUntil, rearm.planned[7].fireAt, "reaches its last slot")
}

/// The phone's clock in a test: an instant and a zone the test moves.
final class PhoneClock: Clock, @unchecked Sendable {
    private let lock = NSLock()
    private var instant: Date
    private var zone: String

    init(_ instant: Date, _ zone: String) {
        self.instant = instant
        self.zone = zone
    }

    func set(_ instant: Date, _ zone: String) {
        lock.lock(); defer { lock.unlock() }
        self.instant = instant
        self.zone = zone
    }

    func now() -> Date {
        lock.lock(); defer { lock.unlock() }
        return instant
    }

    func timeZone() -> String {
        lock.lock(); defer { lock.unlock() }
        return zone
    }
}

/// The clock an iOS app hands the core: the system's instant and current zone.
final class DeviceClock: Clock, @unchecked Sendable {
    func now() -> Date { Date() }
    func timeZone() -> String { TimeZone.current.identifier }
}

func testAppClockSetsNowAndZoneAndAPastDoseIsMissed(_ tmp: TempDir) async throws {
    let phone = PhoneClock(instant(try epochMs("2026-03-05T07:00:00-05:00")), newYork)
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: MemoryKeyStore(), clock: phone)
    try expectEqual(try store.timeZone(), newYork, "the phone's zone")
    _ = try store.addMedication(medication: capecitabine(timing: .timesOfDay(times: ["08:00"], daysOfWeek: [])))
    let before = try store.dosesOn(date: "2026-03-05")
    try expectEqual(before.count, 1, "one dose that day")
    try expectEqual(before[0].status, .upcoming, "08:00 is still to come")
    try expectEqual(before[0].scheduledAt, instant(try epochMs("2026-03-05T08:00:00-05:00")), "08:00 in New York, not UTC")
    phone.set(instant(try epochMs("2026-03-06T09:00:00-05:00")), newYork)
    try expectEqual(try store.dosesOn(date: "2026-03-05")[0].status, .missed, "a day later, untaken")
    phone.set(instant(try epochMs("2026-03-06T09:00:00-05:00")), "Asia/Tokyo")
    try expectEqual(try store.timeZone(), "Asia/Tokyo", "a zone change takes effect on the next call")
    phone.set(instant(try epochMs("2026-03-06T09:00:00-05:00")), "Atlantis/Capital")
    try expectThrows(.invalid) { try store.medications() }
}

func testDeviceClockCarriesTheCurrentZoneNotUtc(_ tmp: TempDir) async throws {
    // The phone's zone as the system reports it (the TZ variable on Linux), as the app reads it.
    let saved = ProcessInfo.processInfo.environment["TZ"]
    defer {
        if let saved { setenv("TZ", saved, 1) } else { unsetenv("TZ") }
        NSTimeZone.resetSystemTimeZone()
    }
    setenv("TZ", "Australia/Adelaide", 1)
    NSTimeZone.resetSystemTimeZone()
    try expectEqual(TimeZone.current.identifier, "Australia/Adelaide", "the system zone moved")
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: MemoryKeyStore(), clock: DeviceClock())
    try expectEqual(try store.timeZone(), "Australia/Adelaide", "TimeZone.current reaches the core")
}

let medsTests: [(name: String, body: (TempDir) async throws -> Void)] = [
    ("medsAppClockSetsNowAndZoneAndAPastDoseIsMissed", testAppClockSetsNowAndZoneAndAPastDoseIsMissed),
    ("medsDeviceClockCarriesTheCurrentZoneNotUtc", testDeviceClockCarriesTheCurrentZoneNotUtc),
    ("medsCyclePlannedAcrossDstDoseLoggedAdherence", testCyclePlannedAcrossDstDoseLoggedAdherence),
    ("medsRefusingSchedulerAndBadInput", testRefusingSchedulerAndBadInput),
    ("medsRestoredPhoneGetsEveryReminderAgainAndRearm", testRestoredPhoneGetsEveryReminderAgainAndRearm),
]
