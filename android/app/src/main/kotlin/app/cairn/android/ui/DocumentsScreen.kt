package app.cairn.android.ui

import android.content.ActivityNotFoundException
import android.content.Context
import android.content.Intent
import android.net.Uri
import android.provider.OpenableColumns
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Add
import androidx.compose.material.icons.filled.Delete
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.FloatingActionButton
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.core.content.FileProvider
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.cairn.android.CairnApplication
import app.cairn.core.CairnStore
import app.cairn.core.model.Document
import app.cairn.core.model.DocumentFilter
import app.cairn.core.model.DocumentKind
import app.cairn.core.model.DocumentMeta
import app.cairn.core.model.ImportOutcome
import java.io.File
import java.util.UUID
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** The vault: documents newest first, search, import with the system picker, open, delete. */
@Composable
fun DocumentsScreen(app: CairnApplication, store: CairnStore) {
    val context = LocalContext.current
    val generation by app.generation.collectAsStateWithLifecycle()
    var query by remember { mutableStateOf("") }
    var documents by remember { mutableStateOf(emptyList<Document>()) }
    var message by remember { mutableStateOf<String?>(null) }
    var busy by remember { mutableStateOf(false) }
    var deleting by remember { mutableStateOf<Document?>(null) }
    val scope = rememberCoroutineScope()

    LaunchedEffect(generation, query) {
        try {
            documents =
                withContext(Dispatchers.IO) {
                    if (query.isBlank()) {
                        store.vaultList(DocumentFilter(kind = null, tag = null, from = null, to = null))
                    } else {
                        store.vaultSearch(query)
                    }
                }
            message = null
        } catch (e: Exception) {
            message = describe(e)
        }
    }

    fun work(block: suspend () -> String?) {
        scope.launch {
            busy = true
            message =
                try {
                    block()
                } catch (e: Exception) {
                    describe(e)
                } finally {
                    busy = false
                }
            app.refresh()
        }
    }

    val pick =
        rememberLauncherForActivityResult(ActivityResultContracts.OpenDocument()) { uri ->
            if (uri != null) work { importDocument(context, store, uri) }
        }

    Box(Modifier.fillMaxSize()) {
        LazyColumn(Modifier.fillMaxWidth()) {
            item { ScreenTitle("Documents") }
            item {
                OutlinedTextField(
                    value = query,
                    onValueChange = { query = it },
                    label = { Text("Search") },
                    singleLine = true,
                    modifier = Modifier.fillMaxWidth().padding(horizontal = 16.dp),
                )
            }
            if (busy) item { LinearProgressIndicator(Modifier.fillMaxWidth().padding(16.dp)) }
            message?.let { item { Notice(it) } }
            if (documents.isEmpty()) {
                item { Quiet(if (query.isBlank()) "No documents yet." else "No documents match.") }
            }
            items(documents, key = { it.id }) { document ->
                ListItem(
                    headlineContent = { Text(document.title) },
                    supportingContent = {
                        val date = document.documentDate?.let { " · " + dayText(it) } ?: ""
                        Text(document.kind.label + date + " · " + sizeText(document.size))
                    },
                    trailingContent = {
                        IconButton(onClick = { deleting = document }) {
                            Icon(Icons.Filled.Delete, contentDescription = "Delete")
                        }
                    },
                    modifier = Modifier.clickable { work { openDocument(context, store, document) } },
                )
            }
        }
        FloatingActionButton(
            onClick = { pick.launch(arrayOf("*/*")) },
            modifier = Modifier.align(Alignment.BottomEnd).padding(16.dp),
        ) {
            Icon(Icons.Filled.Add, contentDescription = "Import a document")
        }
    }

    deleting?.let { document ->
        AlertDialog(
            onDismissRequest = { deleting = null },
            title = { Text("Delete “${document.title}”?") },
            text = { Text("Its key is destroyed: the document cannot be recovered on this device.") },
            confirmButton = {
                TextButton(onClick = {
                    deleting = null
                    work {
                        withContext(Dispatchers.IO) { store.vaultDelete(document.id) }
                        null
                    }
                }) { Text("Delete") }
            },
            dismissButton = { TextButton(onClick = { deleting = null }) { Text("Cancel") } },
        )
    }
}

/**
 * The core imports from a path, so the picked document is first copied into the app's private,
 * never-backed-up files, imported (encrypted as it streams), and the copy removed.
 */
private suspend fun importDocument(context: Context, store: CairnStore, uri: Uri): String? {
    val resolver = context.contentResolver
    val name =
        withContext(Dispatchers.IO) {
            resolver.query(uri, arrayOf(OpenableColumns.DISPLAY_NAME), null, null, null)?.use { cursor ->
                if (cursor.moveToFirst()) cursor.getString(0) else null
            }
        } ?: "Document"
    val staging = File(context.noBackupFilesDir, "import-" + UUID.randomUUID())
    try {
        withContext(Dispatchers.IO) {
            val input = resolver.openInputStream(uri) ?: error("the document could not be read")
            input.use { from -> staging.outputStream().use { to -> from.copyTo(to) } }
        }
        val meta =
            DocumentMeta(
                title = name.substringBeforeLast('.').ifBlank { name },
                kind = DocumentKind.OTHER,
                documentDate = null,
                tags = emptyList(),
                notes = "",
                contentType = resolver.getType(uri) ?: "application/octet-stream",
                linkedEvents = emptyList(),
            )
        val outcome = store.vaultImport(staging.path, meta, null)
        return if (outcome is ImportOutcome.AlreadyInVault) "That document is already in your vault." else null
    } finally {
        withContext(Dispatchers.IO) { staging.delete() }
    }
}

/** Decrypts a copy into the cache (cleared at the next start) and offers it to a viewer. */
private suspend fun openDocument(context: Context, store: CairnStore, document: Document): String? {
    val folder = File(File(context.cacheDir, CairnApplication.OPEN_DIR), UUID.randomUUID().toString())
    val safeName = document.title.replace('/', '-').ifBlank { "document" }
    val file = File(folder, safeName)
    withContext(Dispatchers.IO) { folder.mkdirs() }
    store.vaultExport(document.id, file.path, null)
    val uri = FileProvider.getUriForFile(context, context.packageName + ".documents", file)
    val view =
        Intent(Intent.ACTION_VIEW)
            .setDataAndType(uri, document.contentType)
            .addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION)
    return try {
        context.startActivity(Intent.createChooser(view, document.title))
        null
    } catch (e: ActivityNotFoundException) {
        "No app on this phone opens ${document.contentType} files."
    }
}
