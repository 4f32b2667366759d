import CairnCore
import Foundation

// Presentation only: instants from the core shown in the device's zone, the core's enums as
// words, and its errors as their message. No rules live here.

/// "08:00" in the device's locale and zone.
func timeText(_ instant: Date) -> String {
    instant.formatted(date: .omitted, time: .shortened)
}

/// "8 Mar 2026, 08:00" in the device's locale and zone.
func dateTimeText(_ instant: Date) -> String {
    instant.formatted(date: .abbreviated, time: .shortened)
}

/// A `YYYY-MM-DD` day from the core, as the locale writes a date (the day itself is not moved).
func dayText(_ isoDay: String) -> String {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let parser = DateFormatter()
    parser.calendar = calendar
    parser.timeZone = calendar.timeZone
    parser.locale = Locale(identifier: "en_US_POSIX")
    parser.dateFormat = "yyyy-MM-dd"
    guard let day = parser.date(from: isoDay) else { return isoDay }
    let style = Date.FormatStyle(date: .complete, time: .omitted, timeZone: calendar.timeZone)
    return day.formatted(style)
}

/// An amount as the core gave it, without trailing zeros ("3", "2.5").
func amountText(_ value: Double) -> String {
    value.formatted(.number.precision(.fractionLength(0...2)))
}

/// The message of an error from the core (it never carries patient data).
func describe(_ error: Error) -> String {
    switch error {
    case let e as CairnError:
        switch e {
        case .WrongKey(let m), .Locked(let m), .NotFound(let m), .Invalid(let m),
             .PermissionDenied(let m), .Network(let m), .Conflict(let m), .Corrupt(let m),
             .Incomplete(let m), .Storage(let m), .KeyStore(let m), .Scheduler(let m),
             .Tampered(let m), .Clock(let m), .Cancelled(let m), .Internal(let m):
            return m
        }
    case let e as KeyStoreError:
        switch e {
        case .Unavailable(let reason): return reason
        }
    case let e as NotificationSchedulerError:
        switch e {
        case .Unavailable(let reason): return reason
        }
    default:
        return error.localizedDescription
    }
}

extension DoseStatus {
    /// The status as the Today screen says it.
    var label: String {
        switch self {
        case .upcoming: return "Upcoming"
        case .due: return "Due now"
        case .taken: return "Taken"
        case .takenLate: return "Taken late"
        case .skipped: return "Skipped"
        case .snoozed: return "Snoozed"
        case .missed: return "Missed"
        }
    }

    /// Whether the row offers Take, Skip and Snooze (the core decides what each does).
    var isOpen: Bool {
        switch self {
        case .upcoming, .due, .snoozed, .missed: return true
        case .taken, .takenLate, .skipped: return false
        }
    }
}

extension AsNeededWarning {
    /// The warning as a sentence.
    var text: String {
        switch self {
        case .tooSoon(_, let nextAllowedAt):
            return "Sooner than the minimum gap; the next dose was due from \(timeText(nextAllowedAt))."
        case .overCap(let dosesInPeriod, let maxDoses, let periodHours):
            return "\(dosesInPeriod) doses in \(periodHours) hours; the most is \(maxDoses)."
        }
    }
}

extension EventKind {
    /// The kind as a word.
    var label: String {
        switch self {
        case .diagnosis: return "Diagnosis"
        case .treatment: return "Treatment"
        case .appointment: return "Appointment"
        case .symptom: return "Symptom"
        case .measurement: return "Measurement"
        case .mood: return "Mood"
        case .note: return "Note"
        case .milestone: return "Milestone"
        }
    }

    /// An SF Symbol for the kind.
    var symbol: String {
        switch self {
        case .diagnosis: return "stethoscope"
        case .treatment: return "cross.vial"
        case .appointment: return "calendar"
        case .symptom: return "waveform.path.ecg"
        case .measurement: return "ruler"
        case .mood: return "face.smiling"
        case .note: return "note.text"
        case .milestone: return "flag"
        }
    }
}

extension EventFlag {
    /// The flag as a word.
    var label: String {
        switch self {
        case .fever: return "Fever"
        case .outOfRange: return "Out of range"
        }
    }
}

extension DocumentKind {
    /// The kind as a word.
    var label: String {
        switch self {
        case .labReport: return "Lab report"
        case .pathology: return "Pathology"
        case .imaging: return "Imaging"
        case .dischargeSummary: return "Discharge summary"
        case .prescription: return "Prescription"
        case .letter: return "Letter"
        case .insurance: return "Insurance"
        case .other: return "Other"
        }
    }
}

/// Runs a core call off the main thread.
func offMain<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await Task.detached(operation: work).value
}
