package app.cairn.android

import android.app.Application
import android.app.NotificationChannel
import android.app.NotificationManager
import app.cairn.android.platform.AlarmNotificationScheduler
import app.cairn.android.platform.AndroidKeyStoreKeyStore
import app.cairn.android.platform.DeviceClock
import app.cairn.android.ui.describe
import app.cairn.core.CairnStore
import app.cairn.core.model.CheckDepth
import java.io.File
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** Where the app stands: opening the store, open, or unable to open it. */
sealed interface StoreState {
    /** The store is being opened. */
    data object Opening : StoreState

    /** The store is open. */
    data class Open(val store: CairnStore) : StoreState

    /** The store could not be opened; [message] says why. */
    data class Failed(val message: String) : StoreState
}

/**
 * Opens the store once per process (for the screens and the reminder receivers alike) and tells
 * the screens when to read again.
 */
class CairnApplication : Application() {
    /** Work that outlives a screen: opening the store, planning reminders. */
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    private val _state = MutableStateFlow<StoreState>(StoreState.Opening)

    /** The store's state, for the UI. */
    val state: StateFlow<StoreState> = _state.asStateFlow()

    private val _generation = MutableStateFlow(0)

    /** Bumped whenever the screens should read from the store again. */
    val generation: StateFlow<Int> = _generation.asStateFlow()

    private val _notificationProblem = MutableStateFlow<String?>(null)

    /** Why reminders could not be set, if they could not. */
    val notificationProblem: StateFlow<String?> = _notificationProblem.asStateFlow()

    private val _integrityProblem = MutableStateFlow<String?>(null)

    /** What the launch check of the database pages found, if anything. */
    val integrityProblem: StateFlow<String?> = _integrityProblem.asStateFlow()

    /** Sets the core's reminders as exact alarms. */
    val scheduler by lazy { AlarmNotificationScheduler(this) }

    private var store: CairnStore? = null

    override fun onCreate() {
        super.onCreate()
        createNotificationChannels()
        // Decrypted copies opened for viewing live only until the next start.
        File(cacheDir, OPEN_DIR).deleteRecursively()
        scope.launch { runCatching { openStore() }.onSuccess { checkPages(it) } }
    }

    /**
     * The cheap check at every launch: every database page's HMAC, in the background, so a
     * damaged page no screen has read yet is found and named before it matters.
     */
    private suspend fun checkPages(store: CairnStore) {
        _integrityProblem.value = try {
            store.checkIntegrity(CheckDepth.PAGES).problems.firstOrNull()
        } catch (e: Exception) {
            describe(e)
        }
    }

    /** The open store, opening (or on first launch creating) it on first use. Blocking. */
    @Synchronized
    fun openStore(): CairnStore {
        store?.let { return it }
        return try {
            val directory = File(filesDir, "cairn").apply { mkdirs() }
            val keys = AndroidKeyStoreKeyStore(File(noBackupFilesDir, "keys"))
            CairnStore.openWithKeyStore(directory.path, keys, DeviceClock).also {
                store = it
                _state.value = StoreState.Open(it)
            }
        } catch (e: Exception) {
            _state.value = StoreState.Failed(describe(e))
            throw e
        }
    }

    /** Re-reads every screen and plans the reminders again. */
    fun refresh() {
        _generation.update { it + 1 }
        scope.launch { syncNotifications() }
    }

    /**
     * Brings AlarmManager in line with the core's next reminders: sets what is planned but not
     * armed, cancels what is armed but no longer planned. Blocking.
     */
    @Synchronized
    fun syncNotifications() {
        try {
            openStore().syncNotifications(scheduler, NOTIFICATION_LIMIT)
            _notificationProblem.value = null
        } catch (e: Exception) {
            _notificationProblem.value = describe(e)
        }
    }

    /**
     * Cancels every Cairn alarm and sets every planned reminder again, not just the difference:
     * after a restart, an update or a permission change, when the system may have dropped
     * alarms without a word. Blocking.
     */
    @Synchronized
    fun rearmNotifications() {
        try {
            openStore().rearmNotifications(scheduler, NOTIFICATION_LIMIT)
            _notificationProblem.value = null
        } catch (e: Exception) {
            _notificationProblem.value = describe(e)
        }
    }

    private fun createNotificationChannels() {
        val manager = getSystemService(NotificationManager::class.java)
        manager.createNotificationChannel(
            NotificationChannel(CHANNEL_DOSES, getString(R.string.channel_doses), NotificationManager.IMPORTANCE_HIGH),
        )
        manager.createNotificationChannel(
            NotificationChannel(CHANNEL_REFILLS, getString(R.string.channel_refills), NotificationManager.IMPORTANCE_DEFAULT),
        )
    }

    companion object {
        /** How many reminders are set ahead (the same window as on iOS). */
        val NOTIFICATION_LIMIT: UInt = 64u

        /** The channel of dose reminders. */
        const val CHANNEL_DOSES = "doses"

        /** The channel of refill reminders. */
        const val CHANNEL_REFILLS = "refills"

        /** The cache folder of decrypted copies opened for viewing (see res/xml/document_paths.xml). */
        const val OPEN_DIR = "open"
    }
}
