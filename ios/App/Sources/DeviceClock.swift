import CairnCore
import Foundation

/// "Now" and the phone's zone for the core, read on every call: a flight or a zone change is
/// seen on the next one, and the app re-plans the reminders on `NSSystemTimeZoneDidChange`.
final class DeviceClock: Clock, @unchecked Sendable {
    func now() -> Date { Date() }
    func timeZone() -> String { TimeZone.current.identifier }
}
