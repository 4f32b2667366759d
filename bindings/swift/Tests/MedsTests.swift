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
        timeZonePolicy: .wallClock, lateWindowMinutes: 180, stock: nil, stockCountedAtMs: nil,
        refillThresholdDays: nil,
        phases: [
            Phase(
                dose: 3, unit: "tablet",
                timing: timing ?? .cycle(daysOn: 14, daysOff: 7, times: ["08:00", "20:00"], cycles: nil),
                start: "2026-03-02", end: nil, count: nil)
        ],
        cycleStarts: [])
}

/// The app's scheduler: records each diff, or refuses like a denied permission.
final class RecordingScheduler: NotificationScheduler, @unchecked Sendable {
    private let lock = NSLock()
    private var received: [NotificationPlan] = []
    let refuse: Bool

    init(refuse: Bool = false) { self.refuse = refuse }

    var plans: [NotificationPlan] { lock.lock(); defer { lock.unlock() }; return received }

    func apply(plan: NotificationPlan) throws {
        if refuse { throw NotificationSchedulerError.Unavailable(reason: "notifications are off") }
        lock.lock(); defer { lock.unlock() }
        received.append(plan)
    }
}

func testCyclePlannedAcrossDstDoseLoggedAdherence(_ tmp: TempDir) async throws {
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: MemoryKeyStore())
    defer { store.closeStore() }
    let id = try store.addMedication(medication: capecitabine())

    let scheduler = RecordingScheduler()
    let plan = try store.syncNotificationsAt(
        scheduler: scheduler, nowEpochMs: try epochMs("2026-03-07T12:00:00-05:00"),
        timeZone: newYork, max: 64)
    try expectEqual(plan.planned.count, 64, "planned")
    try expectEqual(scheduler.plans.count, 1, "the scheduler got the diff")
    let first = plan.planned.prefix(3).map { String($0.fireAtLocal.prefix(25)) }
    try expectEqual(
        first,
        ["2026-03-07T20:00:00-05:00", "2026-03-08T08:00:00-04:00", "2026-03-08T20:00:00-04:00"],
        "08:00 stays 08:00 after the clocks go forward")
    try expect(!plan.planned.contains { $0.fireAtLocal.hasPrefix("2026-03-17") }, "no doses on rest days")

    let logged = try store.takeDoseAt(
        nowEpochMs: try epochMs("2026-03-07T20:40:00-05:00"), timeZone: newYork,
        medicationId: id, takenAtMs: nil, amount: nil, occurrenceId: nil)
    try expectEqual(logged.status, .taken, "taken within the hour is on time")
    try expectEqual(logged.scheduledAtMs, try epochMs("2026-03-07T20:00:00-05:00"), "matched to 20:00")

    let next = try store.syncNotificationsAt(
        scheduler: scheduler, nowEpochMs: try epochMs("2026-03-07T20:41:00-05:00"),
        timeZone: newYork, max: 64)
    try expect(next.cancel.isEmpty, "the 20:00 reminder had fired: nothing to cancel")
    try expectEqual(next.schedule.count, 1, "one more reminder at the end of the window")

    let adherence = try store.adherenceAt(
        nowEpochMs: try epochMs("2026-03-08T00:00:00-05:00"), timeZone: newYork,
        from: "2026-03-02", to: "2026-03-07")
    // The store runs on the system clock, so the medication was added after March: doses nobody
    // logged before then are not tracked; the one logged counts.
    try expectEqual(adherence.overall.scheduled, 1, "scheduled")
    try expectEqual(adherence.overall.takenOnTime, 1, "taken on time")
    try expectEqual(adherence.overall.missed, 0, "missed")
    try expectEqual(
        try phaseToRrule(phase: capecitabine().phases[0], timeZonePolicy: .wallClock), nil,
        "a cycle is not one RRULE")
}

func testRefusingSchedulerAndBadInput(_ tmp: TempDir) async throws {
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: MemoryKeyStore())
    defer { store.closeStore() }
    _ = try store.addMedication(medication: capecitabine())
    let now = try epochMs("2026-03-07T12:00:00-05:00")
    try expectThrows(.invalid) {
        try store.syncNotificationsAt(
            scheduler: RecordingScheduler(refuse: true), nowEpochMs: now, timeZone: newYork, max: 8)
    }
    let plan = try store.syncNotificationsAt(
        scheduler: RecordingScheduler(), nowEpochMs: now, timeZone: newYork, max: 8)
    try expectEqual(plan.schedule.count, 8, "the whole diff again after a refusal")
    try expectThrows(.invalid) {
        try store.planNotificationsAt(nowEpochMs: now, timeZone: "Atlantis/Capital", max: 8)
    }
    try expectThrows(.invalid) {
        try store.addMedication(medication: capecitabine(timing: .everyNHours(everyHours: 0, anchor: "08:00")))
    }
}

let medsTests: [(name: String, body: (TempDir) async throws -> Void)] = [
    ("medsCyclePlannedAcrossDstDoseLoggedAdherence", testCyclePlannedAcrossDstDoseLoggedAdherence),
    ("medsRefusingSchedulerAndBadInput", testRefusingSchedulerAndBadInput),
]
