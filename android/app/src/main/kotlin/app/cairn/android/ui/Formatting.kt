package app.cairn.android.ui

import app.cairn.core.model.CairnException
import app.cairn.core.KeyStoreException
import app.cairn.core.NotificationSchedulerException
import app.cairn.core.model.AsNeededWarning
import app.cairn.core.model.DocumentKind
import app.cairn.core.model.DoseStatus
import app.cairn.core.model.EventFlag
import app.cairn.core.model.EventKind
import java.text.DecimalFormat
import java.time.Instant
import java.time.LocalDate
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.time.format.DateTimeParseException
import java.time.format.FormatStyle

// Presentation only: instants from the core shown in the device's zone, the core's enums as
// words, and its errors as their message. No rules live here.

/** "08:00" in the device's locale and zone. */
fun timeText(instant: Instant, zone: ZoneId = ZoneId.systemDefault()): String =
    DateTimeFormatter.ofLocalizedTime(FormatStyle.SHORT).withZone(zone).format(instant)

/** A `YYYY-MM-DD` day from the core as the locale writes a date (the day itself is not moved). */
fun dayText(isoDay: String): String =
    try {
        LocalDate.parse(isoDay).format(DateTimeFormatter.ofLocalizedDate(FormatStyle.FULL))
    } catch (e: DateTimeParseException) {
        isoDay
    }

/** An amount as the core gave it, without trailing zeros ("3", "2.5"). */
fun amountText(value: Double): String = DecimalFormat("0.##").format(value)

/** A size in bytes as "1.2 MB". */
fun sizeText(bytes: ULong): String {
    val units = listOf("bytes", "KB", "MB", "GB")
    var value = bytes.toDouble()
    var unit = 0
    while (value >= 1000 && unit < units.lastIndex) {
        value /= 1000
        unit++
    }
    return if (unit == 0) "$bytes bytes" else "${DecimalFormat("0.#").format(value)} ${units[unit]}"
}

/** The message of an error from the core (it never carries patient data). */
fun describe(error: Throwable): String =
    when (error) {
        is CairnException -> error.message ?: error.javaClass.simpleName
        is KeyStoreException.Unavailable -> error.reason
        is NotificationSchedulerException.Unavailable -> error.reason
        else -> error.message ?: error.javaClass.simpleName
    }

/** The status as the Today screen says it. */
val DoseStatus.label: String
    get() =
        when (this) {
            DoseStatus.UPCOMING -> "Upcoming"
            DoseStatus.DUE -> "Due now"
            DoseStatus.TAKEN -> "Taken"
            DoseStatus.TAKEN_LATE -> "Taken late"
            DoseStatus.SKIPPED -> "Skipped"
            DoseStatus.SNOOZED -> "Snoozed"
            DoseStatus.MISSED -> "Missed"
        }

/** Whether the row offers Take, Skip and Snooze (the core decides what each does). */
val DoseStatus.isOpen: Boolean
    get() =
        when (this) {
            DoseStatus.UPCOMING, DoseStatus.DUE, DoseStatus.SNOOZED, DoseStatus.MISSED -> true
            DoseStatus.TAKEN, DoseStatus.TAKEN_LATE, DoseStatus.SKIPPED -> false
        }

/** The warning as a sentence. */
val AsNeededWarning.text: String
    get() =
        when (this) {
            is AsNeededWarning.TooSoon ->
                "Sooner than the minimum gap; the next dose was due from ${timeText(nextAllowedAt)}."
            is AsNeededWarning.OverCap -> "$dosesInPeriod doses in $periodHours hours; the most is $maxDoses."
        }

/** The kind as a word. */
val EventKind.label: String
    get() =
        when (this) {
            EventKind.DIAGNOSIS -> "Diagnosis"
            EventKind.TREATMENT -> "Treatment"
            EventKind.APPOINTMENT -> "Appointment"
            EventKind.SYMPTOM -> "Symptom"
            EventKind.MEASUREMENT -> "Measurement"
            EventKind.MOOD -> "Mood"
            EventKind.NOTE -> "Note"
            EventKind.MILESTONE -> "Milestone"
        }

/** The flag as a word. */
val EventFlag.label: String
    get() =
        when (this) {
            EventFlag.FEVER -> "Fever"
            EventFlag.OUT_OF_RANGE -> "Out of range"
        }

/** The kind as a word. */
val DocumentKind.label: String
    get() =
        when (this) {
            DocumentKind.LAB_REPORT -> "Lab report"
            DocumentKind.PATHOLOGY -> "Pathology"
            DocumentKind.IMAGING -> "Imaging"
            DocumentKind.DISCHARGE_SUMMARY -> "Discharge summary"
            DocumentKind.PRESCRIPTION -> "Prescription"
            DocumentKind.LETTER -> "Letter"
            DocumentKind.INSURANCE -> "Insurance"
            DocumentKind.OTHER -> "Other"
        }
