// Tests of the journey timeline through the generated Kotlin bindings: add, page, search, edit,
// delete, symptoms and measurements, with the paging cursor as an opaque string.
package app.cairn.core.test

import app.cairn.core.model.CairnException
import app.cairn.core.CairnStore
import app.cairn.core.convertMeasurement
import app.cairn.core.proCtcaeTerms
import app.cairn.core.symptomScoreLabel
import app.cairn.core.model.EndEdit
import app.cairn.core.model.EventDetails
import app.cairn.core.model.EventEdit
import app.cairn.core.model.EventFlag
import app.cairn.core.model.EventKind
import app.cairn.core.model.Measurement
import app.cairn.core.model.NewEvent
import app.cairn.core.model.Quantity
import app.cairn.core.model.SymptomAttribute
import app.cairn.core.model.SymptomReport
import app.cairn.core.model.TimelineQuery
import java.io.File
import java.time.Instant

/** 2026-10-20T08:00:00Z, a Tuesday morning in London (BST). */
const val TUESDAY_MS = 1_792_483_200_000L
const val HOUR_MS = 3_600_000L

fun note(atMs: Long, title: String, body: String = "", tags: List<String> = emptyList()) = NewEvent(
    occurredAt = Instant.ofEpochMilli(atMs),
    recordedZone = "Europe/London",
    endsAt = null,
    title = title,
    body = body,
    tags = tags,
    details = EventDetails.Note,
    medicationIds = emptyList(),
    documentIds = emptyList(),
)

fun symptom(atMs: Long, term: String, frequency: UByte?, severity: UByte?, grade: UByte? = null) = NewEvent(
    occurredAt = Instant.ofEpochMilli(atMs),
    recordedZone = "Europe/London",
    endsAt = null,
    title = "",
    body = "",
    tags = emptyList(),
    details = EventDetails.Symptom(
        SymptomReport(
            term = term,
            frequency = frequency,
            severity = severity,
            interference = null,
            present = null,
            clinicianGrade = grade,
        ),
    ),
    medicationIds = emptyList(),
    documentIds = emptyList(),
)

fun temperature(atMs: Long, value: Double, unit: String) = NewEvent(
    occurredAt = Instant.ofEpochMilli(atMs),
    recordedZone = "Europe/London",
    endsAt = null,
    title = "",
    body = "",
    tags = emptyList(),
    details = EventDetails.Measurement(
        Measurement(
            quantity = Quantity.TEMPERATURE,
            name = null,
            value = value,
            secondValue = null,
            unit = unit,
            rangeLow = null,
            rangeHigh = null,
        ),
    ),
    medicationIds = emptyList(),
    documentIds = emptyList(),
)

fun <T> withTimelineStore(body: (CairnStore) -> T): T {
    var result: T? = null
    withTempDir { dir ->
        CairnStore.openWithKeyStore(File(dir, "store").path, MemoryKeyStore()).using { store ->
            result = body(store)
            store.closeStore()
        }
    }
    @Suppress("UNCHECKED_CAST")
    return result as T
}

val timelineTests = listOf(
    TestCase("timeline: 25 events page by cursor, newest first, both ways, each once") {
        withTimelineStore { store ->
            // Five share one instant: the id breaks the tie, in the same order both ways.
            for (i in 0 until 25) {
                val at = TUESDAY_MS + (i / 5) * HOUR_MS
                store.addEvent(note(at, "day note $i"))
            }
            val down = mutableListOf<String>()
            var page = store.timelinePage(TimelineQuery(), null, 10u)
            assertTrue(page.newer == null) { "the first page is the newest" }
            val pages = mutableListOf(page)
            down += page.events.map { it.id }
            while (page.older != null) {
                page = store.timelinePage(TimelineQuery(), page.older, 10u)
                pages += page
                down += page.events.map { it.id }
            }
            assertEquals(3, pages.size, "pages of 10, 10 and 5")
            assertEquals(25, down.toSet().size, "every event exactly once")
            val times = pages.flatMap { p -> p.events.map { it.occurredAt } }
            assertEquals(times.sortedDescending(), times, "newest first")

            val back = store.timelinePage(TimelineQuery(), pages[2].newer, 10u)
            assertEquals(pages[1].events.map { it.id }, back.events.map { it.id }, "one page newer is the middle page")
            val bad = assertThrows<CairnException.Invalid>("a made-up cursor") {
                store.timelinePage(TimelineQuery(), "page-2", 10u)
            }
            assertTrue(bad.message!!.contains("cursor")) { "names the cursor: ${bad.message}" }
        }
    },

    TestCase("timeline: search ignores case and accents, finds prefixes, and forgets deleted events") {
        withTimelineStore { store ->
            val id = store.addEvent(note(TUESDAY_MS, "Fièvre après la chimio", "Appelé l'hôpital", listOf("Chemo")))
            store.addEvent(note(TUESDAY_MS + HOUR_MS, "Walk in the park"))
            assertEquals(listOf(id), store.searchTimeline("FIEVRE", 20u).events.map { it.id }, "case and accents")
            assertEquals(listOf(id), store.searchTimeline("hopit", 20u).events.map { it.id }, "prefix")
            assertEquals(listOf("chemo"), store.event(id).tags, "tags normalised")
            val filtered = store.timelinePage(TimelineQuery(text = "chimio", kinds = listOf(EventKind.NOTE)), null, 20u)
            assertEquals(listOf(id), filtered.events.map { it.id }, "search with a kind filter")
            // Punctuation and FTS syntax never raise a storage error.
            store.searchTimeline("\"fièvre\" OR (", 20u)

            store.deleteEvent(id)
            assertTrue(store.searchTimeline("fievre", 20u).events.isEmpty()) { "deleted events leave the index" }
            assertThrows<CairnException.NotFound>("a deleted event") { store.event(id) }
        }
    },

    TestCase("timeline: field-level edit, local days, and the end before the start refused") {
        withTimelineStore { store ->
            val id = store.addEvent(note(TUESDAY_MS + 14 * HOUR_MS + 30 * 60_000L, "Scan", "CT chest"))
            store.editEvent(id, EventEdit(title = "CT scan", tags = listOf("scan")))
            val e = store.event(id)
            assertEquals("CT scan", e.title, "title edited")
            assertEquals("CT chest", e.body, "body untouched")
            assertEquals("2026-10-20T23:30:00+01:00[Europe/London]", store.localStart(e), "local start in the recorded zone")
            val london = store.timelineDays(TimelineQuery(), null, 50u, "Europe/London")
            assertEquals("2026-10-20", london.days.single().date, "London day")
            val tokyo = store.timelineDays(TimelineQuery(), null, 50u, "Asia/Tokyo")
            assertEquals("2026-10-21", tokyo.days.single().date, "Tokyo day")
            val err = assertThrows<CairnException.Invalid>("end before start") {
                store.editEvent(id, EventEdit(endsAt = EndEdit.At(Instant.ofEpochMilli(TUESDAY_MS))))
            }
            assertTrue(err.message!!.contains("ends_at")) { "names the field: ${err.message}" }
            assertTrue(!err.message!!.contains("CT")) { "no patient text in errors: ${err.message}" }
            val end = Instant.ofEpochMilli(TUESDAY_MS + 16 * HOUR_MS)
            store.editEvent(id, EventEdit(endsAt = EndEdit.At(end)))
            assertEquals(end, store.event(id).endsAt, "an end set")
            store.editEvent(id, EventEdit(title = "CT scan, contrast"))
            assertEquals(end, store.event(id).endsAt, "an edit without endsAt leaves the end alone")
            store.editEvent(id, EventEdit(endsAt = EndEdit.Remove))
            assertEquals(null, store.event(id).endsAt, "and the end removed")
        }
    },

    TestCase("timeline: symptoms trend, clinician grade apart, fever flag, bad values refused") {
        withTimelineStore { store ->
            store.addEvent(symptom(TUESDAY_MS, "nausea", 3u, 2u))
            store.addEvent(symptom(TUESDAY_MS + 24 * HOUR_MS, "Feeling sick", 2u, 2u))
            store.addEvent(symptom(TUESDAY_MS + 48 * HOUR_MS, "Nausea", 1u, null, grade = 2u))
            val trend = store.symptomTrend("nausea", null, null)
            assertEquals(listOf<UByte?>(3u, 2u, 1u), trend.map { it.report.frequency }, "oldest first")
            assertEquals(listOf<UByte?>(null, null, 2u), trend.map { it.report.clinicianGrade }, "grade only where a clinician gave one")
            assertEquals("Severe", symptomScoreLabel(SymptomAttribute.SEVERITY, 3u), "verbal label")
            assertTrue(proCtcaeTerms().any { it.code() == "rash" && it.attributes() == listOf(SymptomAttribute.PRESENCE) }) { "rash asks presence" }

            val feverId = store.addEvent(temperature(TUESDAY_MS + 60 * HOUR_MS, 100.4, "[degF]"))
            assertEquals(listOf(EventFlag.FEVER), store.event(feverId).flags, "100.4 °F is a fever")
            assertTrue(Math.abs(convertMeasurement(Quantity.WEIGHT, 154.0, "[lb_av]", "kg") - 69.853) < 0.001) { "lb to kg" }

            val nan = assertThrows<CairnException.Invalid>("NaN") {
                store.addEvent(temperature(TUESDAY_MS, Double.NaN, "Cel"))
            }
            assertTrue(nan.message!!.contains("value")) { nan.message!! }
            val unit = assertThrows<CairnException.Invalid>("unknown unit") {
                store.addEvent(temperature(TUESDAY_MS, 37.0, "K"))
            }
            assertTrue(unit.message!!.contains("unit")) { unit.message!! }
            assertThrows<CairnException.Invalid>("severity 5") {
                store.addEvent(symptom(TUESDAY_MS, "nausea", null, 5u))
            }
        }
    },
)
