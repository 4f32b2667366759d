// Tests of the document vault through the generated Kotlin bindings: files cross as paths.
package app.cairn.core.test

import app.cairn.core.model.CairnException
import app.cairn.core.CairnStore
import app.cairn.core.VaultProgress
import app.cairn.core.model.Document
import app.cairn.core.model.DocumentFilter
import app.cairn.core.model.DocumentHealth
import app.cairn.core.model.DocumentKind
import app.cairn.core.model.DocumentMeta
import app.cairn.core.model.ImportOutcome
import java.io.File
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.random.Random
import kotlinx.coroutines.runBlocking

fun dischargeMeta(title: String = "Discharge summary") = DocumentMeta(
    title = title,
    kind = DocumentKind.DISCHARGE_SUMMARY,
    documentDate = "2026-02-14",
    tags = listOf("chemo", "cycle 3"),
    notes = "Neutropenic fever",
    contentType = "application/pdf",
    linkedEvents = emptyList(),
)

/** The document an import added, or the one already holding the same content. */
val ImportOutcome.document: Document
    get() = when (this) {
        is ImportOutcome.Added -> v1
        is ImportOutcome.AlreadyInVault -> v1
    }

/** True when the same content was already in the vault and nothing was added. */
val ImportOutcome.alreadyInVault: Boolean
    get() = this is ImportOutcome.AlreadyInVault

/** Records every progress report. */
class RecordingProgress : VaultProgress {
    val reports = CopyOnWriteArrayList<Pair<ULong, ULong>>()
    override fun onProgress(done: ULong, total: ULong) {
        reports += done to total
    }
}

val vaultTests = listOf(
    TestCase("vault: import by path, list, search, export by path round-trips the bytes") {
        withTempDir { dir ->
            val bytes = Random(7).nextBytes(300_000)
            val source = File(dir, "discharge.pdf").apply { writeBytes(bytes) }
            CairnStore.openWithKeyStore(File(dir, "store").path, MemoryKeyStore()).using { store ->
                val progress = RecordingProgress()
                val imported = runBlocking { store.vaultImport(source.path, dischargeMeta(), progress) }
                assertTrue(!imported.alreadyInVault) { "a first import is not a duplicate" }
                assertEquals(300_000UL, imported.document.size, "size")
                assertEquals("2026-02-14", imported.document.documentDate, "document date")
                assertEquals(300_000UL to 300_000UL, progress.reports.last(), "last progress report")

                val listed = store.vaultList(DocumentFilter(kind = DocumentKind.DISCHARGE_SUMMARY, tag = null, from = null, to = null))
                assertEquals(listOf(imported.document.id), listed.map { it.id }, "listed by kind")
                val none = store.vaultList(DocumentFilter(kind = null, tag = "radiotherapy", from = null, to = null))
                assertTrue(none.isEmpty()) { "no document has that tag" }
                assertEquals(listOf(imported.document.id), store.vaultSearch("neutropenic").map { it.id }, "search")

                val again = runBlocking { store.vaultImport(source.path, dischargeMeta("Again"), null) }
                assertTrue(again.alreadyInVault) { "the same content twice is detected" }
                assertEquals(imported.document.id, again.document.id, "duplicate points at the original")

                val dest = File(dir, "out/exported.pdf").apply { parentFile.mkdirs() }
                runBlocking { store.vaultExport(imported.document.id, dest.path, null) }
                assertTrue(dest.readBytes().contentEquals(bytes)) { "exported bytes equal the imported ones" }
                val stored = File(store.vaultContentPath(imported.document.id)).readBytes()
                assertTrue(String(stored.copyOfRange(0, 21)) == "age-encryption.org/v1") { "stored as an age file" }

                val checks = runBlocking { store.vaultVerify() }
                assertEquals(listOf(DocumentHealth.OK), checks.map { it.health }, "verify")
                store.vaultDelete(imported.document.id)
                assertTrue(store.vaultList(DocumentFilter(null, null, null, null)).isEmpty()) { "deleted" }
                store.closeStore()
            }
        }
    },

    TestCase("vault: a tampered content file throws Corrupt, writes nothing, and verify names it") {
        withTempDir { dir ->
            val source = File(dir, "scan.pdf").apply { writeBytes(Random(8).nextBytes(200_000)) }
            CairnStore.openWithKeyStore(File(dir, "store").path, MemoryKeyStore()).using { store ->
                val doc = runBlocking { store.vaultImport(source.path, dischargeMeta("Scan"), null) }.document
                val file = File(store.vaultContentPath(doc.id))
                val data = file.readBytes()
                data[data.size / 2] = (data[data.size / 2].toInt() xor 1).toByte()
                file.writeBytes(data)
                val dest = File(dir, "never.pdf")
                val e = assertThrows<CairnException.Corrupt>("export of a tampered file") {
                    runBlocking { store.vaultExport(doc.id, dest.path, null) }
                }
                assertTrue(e.message!!.contains(doc.id)) { "the error names the document: ${e.message}" }
                assertTrue(!e.message!!.contains("Scan")) { "the error carries no title: ${e.message}" }
                assertTrue(!dest.exists()) { "nothing written for a failed export" }
                val checks = runBlocking { store.vaultVerify() }
                assertEquals(listOf(doc.id to DocumentHealth.CORRUPT), checks.map { it.id to it.health }, "verify")
                store.closeStore()
            }
        }
    },

    TestCase("vault: a wrong key opens nothing; the right one still exports") {
        withTempDir { dir ->
            val storeDir = File(dir, "store").path
            val bytes = Random(9).nextBytes(70_000)
            val source = File(dir, "letter.pdf").apply { writeBytes(bytes) }
            val id = CairnStore.openWithPassphrase(storeDir, "ember-lagoon-58-cactus-ridge").using { store ->
                val doc = runBlocking { store.vaultImport(source.path, dischargeMeta("Letter"), null) }.document
                store.closeStore()
                doc.id
            }
            assertThrows<CairnException.WrongKey>("open with a wrong passphrase") {
                CairnStore.openWithPassphrase(storeDir, "not the passphrase").using { it.closeStore() }
            }
            CairnStore.openWithPassphrase(storeDir, "ember-lagoon-58-cactus-ridge").using { store ->
                val dest = File(dir, "letter-copy.pdf")
                runBlocking { store.vaultExport(id, dest.path, null) }
                assertTrue(dest.readBytes().contentEquals(bytes)) { "exported after the refused open" }
                store.closeStore()
            }
        }
    },

    TestCase("vault: bad metadata throws Invalid and a missing document NotFound") {
        withTempDir { dir ->
            val source = File(dir, "x.pdf").apply { writeBytes(byteArrayOf(1, 2, 3)) }
            CairnStore.openWithKeyStore(File(dir, "store").path, MemoryKeyStore()).using { store ->
                assertThrows<CairnException.Invalid>("a date that is not a date") {
                    runBlocking { store.vaultImport(source.path, dischargeMeta().copy(documentDate = "14/02/2026"), null) }
                }
                assertThrows<CairnException.Invalid>("an empty title") {
                    runBlocking { store.vaultImport(source.path, dischargeMeta("  "), null) }
                }
                assertThrows<CairnException.NotFound>("export of an unknown id") {
                    runBlocking { store.vaultExport("no-such-id", File(dir, "y").path, null) }
                }
                store.closeStore()
            }
        }
    },
)
