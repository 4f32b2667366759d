// Sync through the generated Kotlin bindings, against a real relay the test script starts on
// 127.0.0.1 (CAIRN_TEST_RELAY): an account, a tablet linked by code, both ways, the devices.
package app.cairn.core.test

import app.cairn.core.CairnStore
import app.cairn.core.SyncObserver
import app.cairn.core.model.CairnException
import app.cairn.core.model.EventEdit
import app.cairn.core.model.SyncPhase
import app.cairn.core.model.SyncProgress
import app.cairn.core.model.TimelineQuery
import java.io.File
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking

/** The relay the test script started; the sync tests fail without one rather than skip. */
fun testRelay(): String =
    System.getenv("CAIRN_TEST_RELAY") ?: error("CAIRN_TEST_RELAY is not set: run bindings/kotlin/run-tests.sh")

/** The app's progress indicator: records every phase it is told. */
class RecordingObserver : SyncObserver {
    val seen = CopyOnWriteArrayList<SyncProgress>()
    override fun progress(progress: SyncProgress) {
        seen += progress
    }
}

val syncTests = listOf(
    TestCase("sync: a tablet linked by code gets the phone's journey, and edits flow both ways") {
        val relay = testRelay()
        withTempDir { dir ->
            CairnStore.openWithKeyStore(File(dir, "phone").path, MemoryKeyStore()).using { phone ->
                CairnStore.openWithKeyStore(File(dir, "tablet").path, MemoryKeyStore()).using { tablet ->
                    val now = Instant.now().toEpochMilli()
                    val event = phone.addEvent(note(now, "Port fitted for chemo"))
                    val med = phone.addMedication(morningPill())
                    assertTrue(!phone.syncEnabled()) { "no account yet" }

                    val kit = runBlocking { phone.createAccount(relay) }
                    assertTrue(kit.startsWith("CAIRN1-")) { "a recovery kit: $kit" }
                    assertEquals(kit, phone.recoveryKit(), "the same kit again")

                    val session = runBlocking { phone.startLink() }
                    assertTrue(session.code().matches(Regex("[0-9A-Z]+-[0-9]{4}-[0-9]{4}"))) { "a code to type: ${session.code()}" }
                    assertTrue(session.qr().startsWith("cairn-link:1:")) { "a QR payload" }
                    val joining = RecordingObserver()
                    val linked = runBlocking {
                        val existing = async(Dispatchers.IO) { session.waitForDevice() }
                        val report = tablet.joinAccount(relay, session.code(), joining)
                        assertTrue(report.pulledChanges > 0uL) { "the journey came down: $report" }
                        existing.await()
                    }
                    assertEquals(tablet.status().deviceId, linked, "the phone linked the tablet")
                    assertTrue(joining.seen.any { it.phase == SyncPhase.PULLING }) { "progress while pulling" }
                    assertEquals(SyncPhase.DONE, joining.seen.last().phase, "and done")

                    assertEquals("Port fitted for chemo", tablet.event(event).title, "the event")
                    assertEquals("Letrozole", tablet.medication(med).name, "the medication")
                    assertEquals(phone.status().recordCount, tablet.status().recordCount, "every record")

                    tablet.editEvent(event, EventEdit(title = "Port fitted, left side"))
                    runBlocking { tablet.syncNow(null) }
                    val pulled = runBlocking { phone.syncNow(RecordingObserver()) }
                    assertEquals(1uL, pulled.pulledBatches, "one batch from the tablet")
                    assertEquals("Port fitted, left side", phone.event(event).title, "the tablet's edit")
                    assertEquals(0uL, phone.status().outboxCount, "nothing left to send")

                    val devices = runBlocking { phone.devices() }
                    assertEquals(2, devices.size, "two devices")
                    assertEquals(1, devices.count { it.thisDevice }, "one is this one")
                }
            }
        }
    },
    TestCase("sync: a wrong code is Invalid on the new device, and no account is needed to say so") {
        val relay = testRelay()
        withTempDir { dir ->
            CairnStore.openWithKeyStore(File(dir, "phone").path, MemoryKeyStore()).using { phone ->
                CairnStore.openWithKeyStore(File(dir, "tablet").path, MemoryKeyStore()).using { tablet ->
                    assertThrows<CairnException.NotFound>("a sync before any account") {
                        runBlocking { phone.syncNow(null) }
                    }
                    runBlocking { phone.createAccount(relay) }
                    val session = runBlocking { phone.startLink() }
                    val wrong = session.code().substringBefore('-') + "-0000-0000"
                    runBlocking {
                        val existing = async(Dispatchers.IO) { runCatching { session.waitForDevice() } }
                        assertThrows<CairnException.Invalid>("a mistyped code") {
                            runBlocking { tablet.joinAccount(relay, wrong, null) }
                        }
                        assertTrue(existing.await().isFailure) { "the phone gives up too" }
                    }
                    assertTrue(!tablet.syncEnabled()) { "the tablet joined nothing" }
                    assertEquals(0uL, tablet.status().recordCount, "and holds nothing")
                }
            }
        }
    },
)
