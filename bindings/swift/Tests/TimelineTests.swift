// Tests of the journey timeline through the generated Swift bindings: a breast cancer diagnosis,
// EC chemotherapy cycles, side effects scored on PRO-CTCAE scales, a fever at home and clinic
// appointments, paged by the opaque cursor both ways, searched, edited and deleted.
import Foundation

let london = "Europe/London"
let hourMs: Int64 = 3_600_000
let dayMs: Int64 = 24 * hourMs

extension ErrorMatcher {
    static let notFound = cairn("NotFound") { if case .NotFound = $0 { return true }; return false }
    static let corrupt = cairn("Corrupt") { if case .Corrupt = $0 { return true }; return false }
}

/// The message of a `CairnError` (every case carries one).
func cairnMessage(_ error: Error) -> String {
    guard let error = error as? CairnError else { return String(reflecting: error) }
    switch error {
    case let .WrongKey(message), let .Locked(message), let .NotFound(message), let .Invalid(message),
         let .PermissionDenied(message), let .Network(message), let .Conflict(message),
         let .Corrupt(message), let .Incomplete(message), let .Storage(message), let .KeyStore(message), let .Scheduler(message),
         let .Tampered(message), let .Clock(message), let .Cancelled(message), let .Internal(message):
        return message
    }
}

/// Runs `body`, which must throw `CairnError.Invalid` naming `field`; returns the message.
@discardableResult
func expectInvalid<T>(
    _ field: String, _ what: String, file: StaticString = #fileID, line: UInt = #line,
    _ body: () throws -> T
) throws -> String {
    let message = cairnMessage(try expectThrows(.invalid, file: file, line: line, body))
    try expect(message.contains(field), "\(what): the message names \(field): \(message)",
               file: file, line: line)
    return message
}

func entry(
    _ atMs: Int64, _ details: EventDetails, title: String = "", body: String = "",
    endsAtMs: Int64? = nil, tags: [String] = []
) -> NewEvent {
    NewEvent(
        occurredAt: instant(atMs), recordedZone: london, endsAt: endsAtMs.map(instant), title: title, body: body,
        tags: tags, details: details, medicationIds: [], documentIds: [])
}

func nausea(frequency: UInt8?, severity: UInt8?, interference: UInt8? = nil, grade: UInt8? = nil)
    -> EventDetails
{
    .symptom(report: SymptomReport(
        term: "nausea", frequency: frequency, severity: severity, interference: interference,
        present: nil, clinicianGrade: grade))
}

func temperature(_ value: Double, _ unit: String) -> EventDetails {
    .measurement(measurement: Measurement(
        quantity: .temperature, name: nil, value: value, secondValue: nil, unit: unit,
        rangeLow: nil, rangeHigh: nil))
}

func chemo(cycle: UInt32) -> EventDetails {
    .treatment(treatment: .chemotherapy, name: "EC", cycle: cycle)
}

func oncologyClinic(questions: [String] = []) -> EventDetails {
    .appointment(provider: "Dr Okafor, oncology", place: "Royal Marsden, Outpatients B",
                 questions: questions, notesAfter: nil)
}

/// A new store in the test's dir; closed when `body` returns.
func withTimelineStore(_ tmp: TempDir, _ body: (CairnStore) throws -> Void) throws {
    let store = try CairnStore.openWithKeyStore(dataDir: tmp.path, keyStore: MemoryKeyStore())
    defer { store.closeStore() }
    try body(store)
}

/// Every page from `cursor` on, following `older` (or `newer`) until there is none.
func walk(
    _ store: CairnStore, from cursor: String?, older: Bool, limit: UInt32,
    filter: TimelineQuery = TimelineQuery()
) throws -> [TimelinePage] {
    var pages: [TimelinePage] = []
    var next = cursor
    repeat {
        let page = try store.timelinePage(filter: filter, cursor: next, limit: limit)
        pages.append(page)
        next = older ? page.older : page.newer
        if pages.count > 100 { throw fail("the cursor never ran out") }
    } while next != nil
    return pages
}

/// Five months of a treatment journey, oldest first; three events share one instant.
func addJourney(_ store: CairnStore) throws -> [String: String] {
    var ids: [String: String] = [:]
    ids["diagnosis"] = try store.addEvent(event: entry(
        try epochMs("2026-02-03T11:20:00Z"),
        .diagnosis(condition: "Breast cancer (invasive ductal carcinoma)", stage: "IIA"),
        body: "Told at the breast clinic; Sam was with me"))
    for cycle in 1...4 {
        let start = try epochMs("2026-02-24T09:30:00Z") + Int64(cycle - 1) * 21 * dayMs
        ids["cycle \(cycle)"] = try store.addEvent(event: entry(
            start, chemo(cycle: UInt32(cycle)), endsAtMs: start + 3 * hourMs, tags: ["chemo"]))
        ids["nausea \(cycle)"] = try store.addEvent(event: entry(
            start + 2 * dayMs, nausea(frequency: UInt8(4 - cycle), severity: 2)))
    }
    ids["fever"] = try store.addEvent(event: entry(
        try epochMs("2026-03-25T22:10:00Z"), temperature(38.4, "Cel"), body: "Shivery, called the hotline"))
    ids["normal"] = try store.addEvent(event: entry(
        try epochMs("2026-03-26T07:00:00Z"), temperature(37.1, "Cel")))
    ids["clinic"] = try store.addEvent(event: entry(
        try epochMs("2026-04-01T14:00:00Z"),
        oncologyClinic(questions: ["Can I have the flu jab?", "Is the tingling in my fingers normal?"]),
        endsAtMs: try epochMs("2026-04-01T14:30:00Z")))
    // A symptom, a temperature and a note logged together from one check-in screen.
    let checkIn = try epochMs("2026-05-12T19:00:00Z")
    ids["check-in fatigue"] = try store.addEvent(event: entry(checkIn, .symptom(report: SymptomReport(
        term: "fatigue", frequency: nil, severity: 2, interference: 3, present: nil, clinicianGrade: nil))))
    ids["check-in temperature"] = try store.addEvent(event: entry(checkIn, temperature(36.9, "Cel")))
    ids["check-in note"] = try store.addEvent(event: entry(
        checkIn, .note, title: "Better week", body: "Walked to the shop twice"))
    return ids
}

func testTimelineJourneyPagesByCursorBothWays(_ tmp: TempDir) async throws {
    try withTimelineStore(tmp) { store in
        let ids = try addJourney(store)
        try expectEqual(ids.count, 15, "events added")

        let down = try walk(store, from: nil, older: true, limit: 4)
        try expectEqual(down.map(\.events.count), [4, 4, 4, 3], "pages of 4, 4, 4 and 3")
        try expectEqual(down[0].newer, nil, "nothing is newer than the first page")
        try expectEqual(down.last?.older, nil, "nothing is older than the last page")
        let seen = down.flatMap(\.events)
        try expectEqual(Set(seen.map(\.id)), Set(ids.values), "every event is on a page")
        try expectEqual(seen.count, ids.count, "and on only one")
        // Newest first; events at the same instant in descending id order, the same on every call.
        let keys = seen.map { ($0.occurredAt.ms, $0.id) }
        try expect(zip(keys, keys.dropFirst()).allSatisfy { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 > $1.1) },
                   "ordered by time then id, newest first: \(keys)")
        try expectEqual(seen.last?.id, ids["diagnosis"], "the diagnosis is the oldest")
        try expectEqual(Set(seen.prefix(3).map(\.id)),
                        Set([ids["check-in fatigue"]!, ids["check-in temperature"]!, ids["check-in note"]!]),
                        "the three check-in events at one instant come first")
        let again = try walk(store, from: nil, older: true, limit: 4)
        try expectEqual(again.flatMap(\.events).map(\.id), seen.map(\.id), "the same order on a second walk")

        // Back up from the oldest page: the same pages, in reverse, up to the newest.
        let up = try walk(store, from: down.last?.newer, older: false, limit: 4)
        try expectEqual(up.map { $0.events.map(\.id) }, down.dropLast().reversed().map { $0.events.map(\.id) },
                        "newer pages are the pages seen on the way down")
        try expectEqual(up.last?.newer, nil, "walking newer ends at the newest page")
        try expect(up.allSatisfy { $0.older != nil }, "every page walked up to has older events")

        // Typed details and default titles come back as written.
        let diagnosis = try store.event(id: ids["diagnosis"]!)
        try expectEqual(diagnosis.kind, .diagnosis, "kind")
        try expectEqual(diagnosis.title, "Breast cancer (invasive ductal carcinoma)", "a diagnosis is titled by its condition")
        try expectEqual(diagnosis.details,
                        .diagnosis(condition: "Breast cancer (invasive ductal carcinoma)", stage: "IIA"), "details")
        try expectEqual(diagnosis.recordedZone, london, "recorded zone")
        try expectEqual(store.localStart(event: diagnosis), "2026-02-03T11:20:00+00:00[Europe/London]", "local start (GMT)")
        let cycle3 = try store.event(id: ids["cycle 3"]!)
        try expectEqual(cycle3.title, "Chemotherapy cycle 3", "a cycle is titled by its number")
        try expectEqual(cycle3.endsAt.map { $0.ms - cycle3.occurredAt.ms }, 3 * hourMs, "a three-hour infusion")
        try expectEqual(cycle3.tags, ["chemo"], "tags")
        try expectEqual(store.localStart(event: cycle3), "2026-04-07T10:30:00+01:00[Europe/London]", "local start (BST)")
        let clinic = try store.event(id: ids["clinic"]!)
        try expectEqual(clinic.title, "Appointment: Dr Okafor, oncology", "an appointment is titled by its provider")
        guard case let .appointment(_, place, questions, _) = clinic.details else {
            throw fail("appointment details: \(clinic.details)")
        }
        try expectEqual(place, "Royal Marsden, Outpatients B", "place")
        try expectEqual(questions.count, 2, "questions kept in order")

        let chemoOnly = try walk(store, from: nil, older: true, limit: 3,
                                 filter: TimelineQuery(kinds: [.treatment]))
        try expectEqual(chemoOnly.flatMap(\.events).map(\.id),
                        [ids["cycle 4"]!, ids["cycle 3"]!, ids["cycle 2"]!, ids["cycle 1"]!],
                        "the treatment filter pages through the four cycles")

        let bad = try expectInvalid("cursor", "a made-up cursor") {
            try store.timelinePage(filter: TimelineQuery(), cursor: "page-2", limit: 5)
        }
        try expect(!bad.contains("page-2"), "the message does not echo the input: \(bad)")
        try expectInvalid("limit", "a page of none") {
            try store.timelinePage(filter: TimelineQuery(), cursor: nil, limit: 0)
        }
    }
}

func testTimelineSymptomsAndFeverFlag(_ tmp: TempDir) async throws {
    try withTimelineStore(tmp) { store in
        let ids = try addJourney(store)

        let fever = try store.event(id: ids["fever"]!)
        try expectEqual(fever.kind, .measurement, "kind")
        try expectEqual(fever.flags, [.fever], "38.4 °C is a fever")
        try expectEqual(try store.event(id: ids["normal"]!).flags, [], "37.1 °C is not")
        let fahrenheit = try store.addEvent(event: entry(
            try epochMs("2026-03-27T21:00:00Z"), temperature(100.4, "[degF]")))
        try expectEqual(try store.event(id: fahrenheit).flags, [.fever], "100.4 °F is a fever")
        try expect(abs(try convertMeasurement(quantity: .temperature, value: 100.4, fromUnit: "[degF]", toUnit: "Cel") - 38.0) < 1e-9,
                   "100.4 °F is 38 °C")

        let report = try store.event(id: ids["nausea 1"]!)
        guard case let .symptom(scores) = report.details else { throw fail("symptom details: \(report.details)") }
        try expectEqual(scores.frequency, 3, "PRO-CTCAE frequency kept")
        try expectEqual(scores.severity, 2, "PRO-CTCAE severity kept")
        try expectEqual(scores.clinicianGrade, nil, "no clinician grade from the patient")
        try expectEqual(symptomScoreLabel(attribute: .frequency, score: 3), "Frequently", "frequency 3")
        try expectEqual(symptomScoreLabel(attribute: .severity, score: 2), "Moderate", "severity 2")
        try expectEqual(symptomScoreLabel(attribute: .severity, score: 7), nil, "off the scale")
        try expect(proCtcaeTerms().contains { $0.code() == "nausea" && $0.attributes() == [.frequency, .severity] },
                   "nausea is asked about frequency and severity")

        // The nurse grades the last report at the clinic: the grade stays apart from the scores.
        try store.editEvent(id: ids["nausea 4"]!, edit: EventEdit(
            details: nausea(frequency: 0, severity: 2, grade: 1)))
        let trend = try store.symptomTrend(term: "nausea", from: nil, until: nil)
        try expectEqual(trend.map(\.eventId), (1...4).map { ids["nausea \($0)"]! }, "the trend is oldest first")
        try expectEqual(trend.map(\.report.frequency), [3, 2, 1, 0], "nausea eases cycle by cycle")
        try expectEqual(trend.map(\.report.clinicianGrade), [nil, nil, nil, 1], "the clinician's grade only where given")
        let spring = try store.symptomTrend(
            term: "nausea", from: instant(try epochMs("2026-03-01T00:00:00Z")), until: instant(try epochMs("2026-04-15T00:00:00Z")))
        try expectEqual(spring.map(\.eventId), [ids["nausea 2"]!, ids["nausea 3"]!],
                        "a trend over six weeks: the reports after cycles 2 (19 March) and 3 (9 April)")
    }
}

func testTimelineSearchIgnoresCaseAndAccents(_ tmp: TempDir) async throws {
    try withTimelineStore(tmp) { store in
        let ids = try addJourney(store)
        let fievre = try store.addEvent(event: entry(
            try epochMs("2026-03-25T22:40:00Z"), .note, title: "Fièvre après la chimio",
            body: "Appelé l'hôpital de jour, rendez-vous demain", tags: ["Chemo"]))
        func found(_ text: String) throws -> [String] {
            try store.searchTimeline(text: text, limit: 50).events.map(\.id)
        }

        try expectEqual(try found("FIEVRE"), [fievre], "capitals without accents find Fièvre")
        try expectEqual(try found("fièvre"), [fievre], "the word as written")
        try expectEqual(try found("Fiev"), [fievre], "a prefix finds the word")
        try expectEqual(try found("HOPITAL demain"), [fievre], "every word, in the body")
        try expectEqual(try found("fièvre hotline"), [], "all words must match")
        try expectEqual(Set(try found("chemo")), Set((1...4).map { ids["cycle \($0)"]! } + [fievre]),
                        "tags are searched, normalised")
        try expectEqual(try store.event(id: fievre).tags, ["chemo"], "tags are stored lower case")
        try expectEqual(try found("shiver"), [ids["fever"]!], "a measurement's note is searched")
        try expectEqual(try found("okafor"), [ids["clinic"]!], "a default title is searched")
        let notesOnly = try store.timelinePage(
            filter: TimelineQuery(kinds: [.note], text: "chemo"), cursor: nil, limit: 50)
        try expectEqual(notesOnly.events.map(\.id), [fievre], "search narrowed by kind")
        // Punctuation and FTS syntax are only separators: no input raises a storage error.
        for text in ["\"fièvre\" OR (", "chimio*", "NEAR(a b)", "'; DROP TABLE x; --"] {
            _ = try store.searchTimeline(text: text, limit: 10)
        }
        try expectInvalid("text", "a search with no word in it") { try store.searchTimeline(text: " - ", limit: 10) }

        try store.deleteEvent(id: fievre)
        try expectEqual(try found("fievre"), [], "a deleted event leaves the search index")
        try expectEqual(Set(try found("chemo")), Set((1...4).map { ids["cycle \($0)"]! }), "the cycles are still found")
        let all = try walk(store, from: nil, older: true, limit: 7).flatMap(\.events).map(\.id)
        try expect(!all.contains(fievre), "a deleted event is on no page")
        try expectEqual(Set(all), Set(ids.values), "every other event still is")
        try expectThrows(.notFound) { try store.event(id: fievre) }
        try expectThrows(.notFound) {
            try store.editEvent(id: fievre, edit: EventEdit(title: "Fever"))
        }
    }
}

func testTimelineEditOneFieldAndReadItBack(_ tmp: TempDir) async throws {
    try withTimelineStore(tmp) { store in
        let ids = try addJourney(store)
        let id = ids["clinic"]!
        let before = try store.event(id: id)

        try store.editEvent(id: id, edit: EventEdit(body: "Bloods fine; next cycle goes ahead"))
        let after = try store.event(id: id)
        try expectEqual(after.body, "Bloods fine; next cycle goes ahead", "the body was edited")
        var unchanged = after
        unchanged.body = before.body
        try expectEqual(unchanged, before, "every other field is as it was")
        try expectEqual(try store.searchTimeline(text: "bloods", limit: 10).events.map(\.id), [id],
                        "the edit is searchable")

        // Moving it an hour later keeps it in the same place in the order of the other events.
        try store.editEvent(id: id, edit: EventEdit(
            occurredAt: instant(before.occurredAt.ms + hourMs), endsAt: before.endsAt.map { .at(at: instant($0.ms + hourMs)) }))
        let moved = try store.event(id: id)
        try expectEqual(store.localStart(event: moved), "2026-04-01T16:00:00+01:00[Europe/London]", "moved an hour later")
        try expectEqual(moved.body, after.body, "the body kept")
        try store.editEvent(id: id, edit: EventEdit(endsAt: .remove))
        try expectEqual(try store.event(id: id).endsAt, nil, "the end removed")

        let message = try expectInvalid("ends_at", "an end before the start") {
            try store.editEvent(id: id, edit: EventEdit(endsAt: .at(at: instant(moved.occurredAt.ms - hourMs))))
        }
        try expect(!message.contains("Okafor") && !message.contains("Bloods"),
                   "no patient text in the message: \(message)")
        try expectInvalid("kind", "details of another kind") {
            try store.editEvent(id: id, edit: EventEdit(details: temperature(37.0, "Cel")))
        }
        try expectEqual(try store.event(id: id).endsAt, nil, "a refused edit changes nothing")
    }
}

func testTimelineBadInputIsInvalidNamingTheField(_ tmp: TempDir) async throws {
    try withTimelineStore(tmp) { store in
        let at = try epochMs("2026-03-25T22:10:00Z")
        let backwards = try expectInvalid("ends_at", "an end before the start") {
            try store.addEvent(event: entry(at, chemo(cycle: 2), title: "EC cycle 2", endsAtMs: at - hourMs))
        }
        try expect(!backwards.contains("EC cycle"), "no title in the message: \(backwards)")
        let unit = try expectInvalid("unit", "kelvin") {
            try store.addEvent(event: entry(at, temperature(311.5, "K")))
        }
        try expect(unit.contains("Cel") && unit.contains("[degF]"), "the message lists the units known: \(unit)")
        try expectInvalid("value", "not a number") {
            try store.addEvent(event: entry(at, temperature(.nan, "Cel")))
        }
        try expectInvalid("value", "an infinite temperature") {
            try store.addEvent(event: entry(at, temperature(.infinity, "[degF]")))
        }
        try expectInvalid("severity", "severity 5 of 0–4") {
            try store.addEvent(event: entry(at, nausea(frequency: 1, severity: 5)))
        }
        try expectInvalid("rating", "mood 9 of 1–5") {
            try store.addEvent(event: entry(at, .mood(rating: 9)))
        }
        try expectInvalid("cycle", "cycle 0") {
            try store.addEvent(event: entry(at, chemo(cycle: 0)))
        }
        try expectInvalid("title", "a note without a title") {
            try store.addEvent(event: entry(at, .note, body: "only a body"))
        }
        try expectInvalid("recorded_zone", "a zone that does not exist") {
            var e = entry(at, .note, title: "Scan")
            e.recordedZone = "Europe/Atlantis"
            return try store.addEvent(event: e)
        }
        try expectInvalid("zone", "grouping by an unknown zone") {
            try store.timelineDays(filter: TimelineQuery(), cursor: nil, limit: 10, zone: "Mars/Olympus_Mons")
        }
        let page = try store.timelinePage(filter: TimelineQuery(), cursor: nil, limit: 10)
        try expectEqual(page.events.count, 0, "nothing refused was written")
        try expectEqual(try store.status().recordCount, 0, "no record either")
    }
}

func testTimelineUpcomingAppointmentsAndLocalDays(_ tmp: TempDir) async throws {
    try withTimelineStore(tmp) { store in
        _ = try addJourney(store)
        // The store's clock is the device's: the next clinic is two days from now.
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let next = try store.addEvent(event: entry(
            now + 2 * dayMs, oncologyClinic(questions: ["Scan results?"]), endsAtMs: now + 2 * dayMs + hourMs))
        let upcoming = try store.upcomingAppointments(limit: 5)
        try expectEqual(upcoming.map(\.id), [next], "only the appointment still ahead")

        // 23:30 in London on 20 October is already the 21st in Tokyo.
        let late = try store.addEvent(event: entry(
            try epochMs("2026-10-20T22:30:00Z"), .note, title: "Could not sleep"))
        let filter = TimelineQuery(from: instant(try epochMs("2026-10-20T00:00:00Z")), until: instant(try epochMs("2026-10-21T00:00:00Z")))
        let inLondon = try store.timelineDays(filter: filter, cursor: nil, limit: 10, zone: london)
        try expectEqual(inLondon.days.map(\.date), ["2026-10-20"], "the London day")
        try expectEqual(inLondon.days.first?.events.map(\.id), [late], "the night's note")
        let inTokyo = try store.timelineDays(filter: filter, cursor: nil, limit: 10, zone: "Asia/Tokyo")
        try expectEqual(inTokyo.days.map(\.date), ["2026-10-21"], "the Tokyo day")
    }
}

func testTimelinePagingHoldsWhileEventsChange(_ tmp: TempDir) async throws {
    try withTimelineStore(tmp) { store in
        // A fortnight of evening temperatures after cycle 2.
        let first = try epochMs("2026-03-17T19:00:00Z")
        var original: [String] = []
        for day in 0..<14 {
            original.append(try store.addEvent(event: entry(
                first + Int64(day) * dayMs, temperature(36.6 + Double(day % 4) / 10, "Cel"))))
        }
        let page1 = try store.timelinePage(filter: TimelineQuery(), cursor: nil, limit: 5)
        try expectEqual(page1.events.map(\.id), Array(original.suffix(5).reversed()), "the newest five")

        // While the person reads the first page, a sync brings a newer reading and the event the
        // cursor points at is deleted on the other phone.
        let boundary = page1.events.last!.id
        try store.deleteEvent(id: boundary)
        let newest = try store.addEvent(event: entry(first + 14 * dayMs, temperature(38.2, "Cel")))

        let rest = try walk(store, from: page1.older, older: true, limit: 5)
        try expectEqual(rest.flatMap(\.events).map(\.id), Array(original.prefix(9).reversed()),
                        "the older pages go on below the deleted boundary, each event once")
        let back = try store.timelinePage(filter: TimelineQuery(), cursor: rest[0].newer, limit: 5)
        try expectEqual(back.events.map(\.id), [newest] + page1.events.dropLast().map(\.id),
                        "going newer again shows the new reading and not the deleted one")
        try expectEqual(back.newer, nil, "and is the newest page")
        let refreshed = try store.timelinePage(filter: TimelineQuery(), cursor: nil, limit: 5)
        try expectEqual(refreshed.events.first?.flags, [.fever], "a refresh puts the fever on top")
    }
}

func testTimelineDefaultZoneAndOutOfRangeTimes(_ tmp: TempDir) async throws {
    try withTimelineStore(tmp) { store in
        var e = entry(try epochMs("2026-06-01T08:00:00Z"), .milestone, title: "Last radiotherapy session")
        e.recordedZone = nil
        let id = try store.addEvent(event: e)
        let saved = try store.event(id: id)
        try expect(!saved.recordedZone.isEmpty, "without a zone the device's is recorded")
        try expect(store.localStart(event: saved).hasSuffix("[\(saved.recordedZone)]"),
                   "the local start is in that zone: \(store.localStart(event: saved))")

        try expectInvalid("instant", "a start beyond the calendar") {
            try store.addEvent(event: entry(Int64.max, .note, title: "Scan"))
        }
        try expectInvalid("instant", "an end beyond the calendar") {
            try store.editEvent(id: id, edit: EventEdit(endsAt: .at(at: instant(Int64.min))))
        }
        try expectInvalid("instant", "a filter beyond the calendar") {
            try store.timelinePage(filter: TimelineQuery(from: instant(Int64.min)), cursor: nil, limit: 10)
        }
        try expectInvalid("limit", "a page larger than the store returns") {
            try store.timelinePage(filter: TimelineQuery(), cursor: nil, limit: 501)
        }
        try expectEqual(try store.event(id: id), saved, "refused calls changed nothing")
    }
}

let timelineTests: [(name: String, body: (TempDir) async throws -> Void)] = [
    ("timelineJourneyPagesByCursorBothWays", testTimelineJourneyPagesByCursorBothWays),
    ("timelineSymptomsAndFeverFlag", testTimelineSymptomsAndFeverFlag),
    ("timelineSearchIgnoresCaseAndAccents", testTimelineSearchIgnoresCaseAndAccents),
    ("timelineEditOneFieldAndReadItBack", testTimelineEditOneFieldAndReadItBack),
    ("timelineBadInputIsInvalidNamingTheField", testTimelineBadInputIsInvalidNamingTheField),
    ("timelineUpcomingAppointmentsAndLocalDays", testTimelineUpcomingAppointmentsAndLocalDays),
    ("timelinePagingHoldsWhileEventsChange", testTimelinePagingHoldsWhileEventsChange),
    ("timelineDefaultZoneAndOutOfRangeTimes", testTimelineDefaultZoneAndOutOfRangeTimes),
]
