// Tests of the generated Kotlin bindings of cairn-ffi (see bindings/README.md).
// Every test works in its own fresh temporary directory and goes through the real library.
package app.cairn.core.test

import app.cairn.core.model.CairnException
import app.cairn.core.CairnStore
import app.cairn.core.KeyStore
import app.cairn.core.KeyStoreException
import app.cairn.core.model.CheckDepth
import app.cairn.core.model.Profile
import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.security.MessageDigest
import java.security.SecureRandom
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.runBlocking

const val KEY_NAME = "cairn.db"
const val DB_FILE = "cairn.db"

/** The app's key store, in memory: records every call it receives. */
class MemoryKeyStore(initial: Map<String, ByteArray> = emptyMap()) : KeyStore {
    val secrets = ConcurrentHashMap<String, ByteArray>(initial.mapValues { it.value.copyOf() })
    val loads = CopyOnWriteArrayList<String>()
    val saves = CopyOnWriteArrayList<Pair<String, ByteArray>>()

    override fun load(name: String): ByteArray? {
        loads += name
        return secrets[name]?.copyOf()
    }

    override fun save(name: String, secret: ByteArray) {
        saves += name to secret.copyOf()
        secrets[name] = secret.copyOf()
    }
}

/** A key store whose platform backend is unavailable (e.g. a locked keychain). */
class UnavailableKeyStore : KeyStore {
    override fun load(name: String): ByteArray? = throw KeyStoreException.Unavailable("keychain is locked")
    override fun save(name: String, secret: ByteArray) = throw KeyStoreException.Unavailable("keychain is locked")
}

fun randomKey(size: Int = 32): ByteArray = ByteArray(size).also { SecureRandom().nextBytes(it) }

/** Runs [body] with a fresh, empty temporary directory, deleted afterwards. */
fun withTempDir(body: (File) -> Unit) {
    val dir = Files.createTempDirectory("cairn-kotlin-test-").toFile()
    try {
        body(dir)
    } finally {
        dir.deleteRecursively()
    }
}

/** Runs [body] with [store], then frees the Kotlin wrapper of the Rust object. */
fun <T> CairnStore.using(body: (CairnStore) -> T): T {
    try {
        return body(this)
    } finally {
        this.destroy()
    }
}

/** SHA-256 of every file under [dir], keyed by relative path. */
fun hashTree(dir: File): Map<String, String> =
    dir.walkTopDown().filter { it.isFile }.associate { f ->
        val digest = MessageDigest.getInstance("SHA-256").digest(f.readBytes())
        f.relativeTo(dir).path to digest.joinToString("") { "%02x".format(it) }
    }.toSortedMap()

fun assertTreeUnchanged(before: Map<String, String>, dir: File, what: String) {
    val after = hashTree(dir)
    if (before != after) {
        val changed = (before.keys + after.keys).filter { before[it] != after[it] }.sorted()
        fail("$what: files changed: $changed")
    }
}

/** The database file: `cairn.db` directly in the data dir (or, failing that, anywhere below it). */
fun databaseFile(dir: File): File {
    val direct = File(dir, DB_FILE)
    if (direct.isFile) return direct
    return dir.walkTopDown().firstOrNull { it.isFile && it.name == DB_FILE }
        ?: fail("no $DB_FILE under $dir; files: ${hashTree(dir).keys}")
}

/** Creates a store in [dir] with [keyStore], writes a profile and closes it. */
fun createStoreWithProfile(dir: File, keyStore: KeyStore) {
    CairnStore.openWithKeyStore(dir.path, keyStore).using { store ->
        store.setProfile("Ada", "Europe/Zurich")
        store.closeStore()
    }
}

val cairnStoreTests = listOf(
    TestCase("new store: status is empty, one 32-byte key saved under cairn.db") {
        withTempDir { dir ->
            val keys = MemoryKeyStore()
            CairnStore.openWithKeyStore(dir.path, keys).using { store ->
                val status = store.status()
                assertTrue(status.schemaVersion >= 1u) { "schema_version should be >= 1, got ${status.schemaVersion}" }
                assertTrue(status.deviceId.isNotBlank()) { "device_id should be non-empty, got '${status.deviceId}'" }
                assertEquals(0uL, status.recordCount, "record_count")
                assertEquals(0uL, status.outboxCount, "outbox_count")
                assertEquals(1, keys.saves.size, "number of key store saves")
                val (name, secret) = keys.saves.single()
                assertEquals(KEY_NAME, name, "saved key name")
                assertEquals(32, secret.size, "saved key length")
                assertTrue(secret.any { it != 0.toByte() }) { "saved key is all zeros" }
                assertEquals(setOf(KEY_NAME), keys.secrets.keys, "key store contents")
                store.closeStore()
            }
        }
    },

    TestCase("two new stores get different keys") {
        withTempDir { dir ->
            val a = MemoryKeyStore()
            val b = MemoryKeyStore()
            CairnStore.openWithKeyStore(File(dir, "a").apply { mkdirs() }.path, a).using { it.closeStore() }
            CairnStore.openWithKeyStore(File(dir, "b").apply { mkdirs() }.path, b).using { it.closeStore() }
            assertTrue(!a.secrets[KEY_NAME]!!.contentEquals(b.secrets[KEY_NAME]!!)) { "both stores got the same key" }
        }
    },

    TestCase("set_profile round-trips, counts grow, reopen reads it back") {
        withTempDir { dir ->
            val keys = MemoryKeyStore()
            val name = "Zoë Ångström-李"
            val zone = "America/Argentina/Buenos_Aires"
            val deviceId = CairnStore.openWithKeyStore(dir.path, keys).using { store ->
                assertEquals(null, store.profile(), "profile of a new store")
                store.setProfile(name, zone)
                val profile = store.profile() ?: fail("profile() is null after set_profile")
                assertEquals(name, profile.displayName, "display_name")
                assertEquals(zone, profile.homeTimeZone, "home_time_zone")
                assertEquals(Profile(name, zone), profile, "profile")
                val status = store.status()
                assertTrue(status.recordCount > 0uL) { "record_count should grow, got ${status.recordCount}" }
                assertTrue(status.outboxCount > 0uL) { "outbox_count should grow, got ${status.outboxCount}" }
                store.closeStore()
                status.deviceId
            }
            CairnStore.openWithKeyStore(dir.path, keys).using { store ->
                assertEquals(Profile(name, zone), store.profile(), "profile after reopen")
                val status = store.status()
                assertEquals(deviceId, status.deviceId, "device_id after reopen")
                assertTrue(status.recordCount > 0uL) { "record_count after reopen: ${status.recordCount}" }
                store.closeStore()
            }
            assertEquals(1, keys.saves.size, "key store saves after reopen (the key must not be regenerated)")
            assertTrue(keys.loads.contains(KEY_NAME)) { "reopen did not load '$KEY_NAME', loads: ${keys.loads}" }
        }
    },

    TestCase("set_profile twice: the last write wins") {
        withTempDir { dir ->
            CairnStore.openWithKeyStore(dir.path, MemoryKeyStore()).using { store ->
                store.setProfile("Ada", "Europe/Zurich")
                val first = store.status()
                store.setProfile("Ada L.", "Asia/Tokyo")
                assertEquals(Profile("Ada L.", "Asia/Tokyo"), store.profile(), "profile")
                val second = store.status()
                assertTrue(second.outboxCount > first.outboxCount) {
                    "outbox_count should grow on the second write: ${first.outboxCount} -> ${second.outboxCount}"
                }
                store.closeStore()
            }
        }
    },

    TestCase("set_profile with an unknown time zone throws CairnException.Invalid") {
        withTempDir { dir ->
            CairnStore.openWithKeyStore(dir.path, MemoryKeyStore()).using { store ->
                val e = assertThrows<CairnException.Invalid>("set_profile(\"Mars/Olympus_Mons\")") {
                    store.setProfile("Ada", "Mars/Olympus_Mons")
                }
                assertTrue(!e.message.isNullOrBlank()) { "Invalid should carry a message" }
                assertEquals(null, store.profile(), "profile after a rejected write")
                val status = store.status()
                assertEquals(0uL, status.recordCount, "record_count after a rejected write")
                assertEquals(0uL, status.outboxCount, "outbox_count after a rejected write")
                store.closeStore()
            }
        }
    },

    TestCase("reopen with a different key throws WrongKey and leaves the files unchanged") {
        withTempDir { dir ->
            val keys = MemoryKeyStore()
            createStoreWithProfile(dir, keys)
            val before = hashTree(dir)
            var other = randomKey()
            while (other.contentEquals(keys.secrets[KEY_NAME]!!)) other = randomKey()
            val wrong = MemoryKeyStore(mapOf(KEY_NAME to other))
            assertThrows<CairnException.WrongKey>("open with a different key") {
                CairnStore.openWithKeyStore(dir.path, wrong).using { it.closeStore() }
            }
            assertEquals(0, wrong.saves.size, "saves into the wrong key store")
            assertTreeUnchanged(before, dir, "after WrongKey")
            // The right key still opens it.
            CairnStore.openWithKeyStore(dir.path, keys).using { store ->
                assertEquals(Profile("Ada", "Europe/Zurich"), store.profile(), "profile with the right key")
                store.closeStore()
            }
        }
    },

    TestCase("a key store that throws Unavailable surfaces as CairnException.KeyStore") {
        withTempDir { dir ->
            createStoreWithProfile(dir, MemoryKeyStore())
            val before = hashTree(dir)
            assertThrows<CairnException.KeyStore>("open with an unavailable key store") {
                CairnStore.openWithKeyStore(dir.path, UnavailableKeyStore()).using { it.closeStore() }
            }
            assertTreeUnchanged(before, dir, "after KeyStore error")
        }
    },

    TestCase("an empty key store for an existing store throws Locked (and saves nothing)") {
        withTempDir { dir ->
            createStoreWithProfile(dir, MemoryKeyStore())
            val before = hashTree(dir)
            val empty = MemoryKeyStore()
            assertThrows<CairnException.Locked>("open an existing store with an empty key store") {
                CairnStore.openWithKeyStore(dir.path, empty).using { it.closeStore() }
            }
            assertEquals(0, empty.saves.size, "saves into the empty key store (a new key must not be generated)")
            assertTreeUnchanged(before, dir, "after Locked")
        }
    },

    TestCase("a stored key that is not 32 bytes throws CairnException.KeyStore") {
        withTempDir { dir ->
            createStoreWithProfile(dir, MemoryKeyStore())
            val before = hashTree(dir)
            assertThrows<CairnException.KeyStore>("open with a 16-byte key") {
                CairnStore.openWithKeyStore(dir.path, MemoryKeyStore(mapOf(KEY_NAME to randomKey(16)))).using { it.closeStore() }
            }
            assertTreeUnchanged(before, dir, "after a 16-byte key")
        }
    },

    TestCase("passphrase: wrong passphrase throws WrongKey, the right one reopens") {
        withTempDir { dir ->
            val passphrase = "tulip-gravel-93-orbit-canyon"
            CairnStore.openWithPassphrase(dir.path, passphrase).using { store ->
                store.setProfile("Grace", "Pacific/Auckland")
                store.closeStore()
            }
            val before = hashTree(dir)
            assertThrows<CairnException.WrongKey>("open with a wrong passphrase") {
                CairnStore.openWithPassphrase(dir.path, "tulip-gravel-93-orbit-canyons").using { it.closeStore() }
            }
            assertTreeUnchanged(before, dir, "after a wrong passphrase")
            CairnStore.openWithPassphrase(dir.path, passphrase).using { store ->
                assertEquals(Profile("Grace", "Pacific/Auckland"), store.profile(), "profile after reopening")
                store.closeStore()
            }
        }
    },

    TestCase("async check_integrity finds a new store healthy, at both depths (runBlocking)") {
        withTempDir { dir ->
            CairnStore.openWithKeyStore(dir.path, MemoryKeyStore()).using { store ->
                val quick = runBlocking { store.checkIntegrity(CheckDepth.PAGES) }
                assertEquals(emptyList<String>(), quick.problems, "page check on a new store")
                store.setProfile("Ada", "Europe/Zurich")
                val full = runBlocking { store.checkIntegrity(CheckDepth.FULL) }
                assertEquals(emptyList<String>(), full.problems, "full check after a write")
                assertEquals(true, full.pages > 0uL, "pages were checked")
                store.closeStore()
            }
        }
    },

    TestCase("a key in the key store without its database is Incomplete, and the key is kept") {
        withTempDir { dir ->
            val keys = MemoryKeyStore()
            CairnStore.openWithKeyStore(dir.path, keys).using { it.closeStore() }
            val key = keys.load("cairn.db")!!.toList()
            java.io.File(dir, "cairn.db").writeBytes(ByteArray(0))
            assertThrows<CairnException.Incomplete>("open over an emptied database") {
                CairnStore.openWithKeyStore(dir.path, keys)
            }
            assertEquals(key, keys.load("cairn.db")!!.toList(), "the stored key is unchanged")
        }
    },

    TestCase("after close, status throws Locked") {
        withTempDir { dir ->
            CairnStore.openWithKeyStore(dir.path, MemoryKeyStore()).using { store ->
                store.status()
                store.closeStore()
                assertThrows<CairnException.Locked>("status() after close") { store.status() }
            }
        }
    },

    TestCase("after close, every call throws Locked and close is idempotent") {
        withTempDir { dir ->
            CairnStore.openWithKeyStore(dir.path, MemoryKeyStore()).using { store ->
                store.setProfile("Ada", "Europe/Zurich")
                store.closeStore()
                assertThrows<CairnException.Locked>("profile() after close") { store.profile() }
                assertThrows<CairnException.Locked>("set_profile() after close") { store.setProfile("Eve", "UTC") }
                assertThrows<CairnException.Locked>("check_integrity() after close") {
                    runBlocking { store.checkIntegrity(CheckDepth.FULL) }
                }
                store.closeStore()
                assertThrows<CairnException.Locked>("status() after a second close") { store.status() }
            }
        }
    },

    TestCase("the database file is encrypted (no 'SQLite format 3' header)") {
        withTempDir { dir ->
            createStoreWithProfile(dir, MemoryKeyStore())
            val db = databaseFile(dir)
            val head = db.inputStream().use { it.readNBytes(16) }
            assertTrue(head.size == 16) { "$db is only ${head.size} bytes" }
            val plain = "SQLite format 3".toByteArray(Charsets.US_ASCII)
            assertTrue(!head.copyOfRange(0, plain.size).contentEquals(plain)) { "$db starts with 'SQLite format 3'" }
            assertTrue(!db.readBytes().toString(Charsets.ISO_8859_1).contains("Europe/Zurich")) {
                "$db contains the profile's time zone in plain text"
            }
        }
    },

    TestCase("the passphrase database file is encrypted too") {
        withTempDir { dir ->
            CairnStore.openWithPassphrase(dir.path, "maple-quartz-17-harbor-violet").using { store ->
                store.setProfile("Grace", "Pacific/Auckland")
                store.closeStore()
            }
            val db = databaseFile(dir)
            val head = db.inputStream().use { it.readNBytes(16) }
            assertTrue(!String(head, Charsets.ISO_8859_1).startsWith("SQLite format 3")) { "$db starts with 'SQLite format 3'" }
        }
    },
)
