package app.cairn.android.platform

import java.io.File
import java.io.FileOutputStream
import java.nio.file.Files
import java.nio.file.StandardCopyOption
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * Secrets kept as files in an app-private directory, each sealed with AES-256-GCM under a
 * wrapping key (on a phone, a key that lives in the Android Keystore and never leaves it).
 *
 * One file per name: a version byte, the 12-byte nonce, then ciphertext and tag. The name is
 * bound as associated data, so a file renamed to another name does not open. Writes go to a
 * temporary file that is synced and then renamed over the old one, so a crash leaves the old
 * secret or the new one, never half of either.
 *
 * Plain JVM code (javax.crypto only), so it runs the same with any [SecretKey].
 */
class WrappedSecretFiles(
    private val directory: File,
    private val wrappingKey: () -> SecretKey,
) {
    /** The secret stored under [name], or null when there is none. */
    fun read(name: String): ByteArray? {
        val file = fileFor(name)
        if (!file.exists()) return null
        val sealed = file.readBytes()
        require(sealed.size > HEADER && sealed[0] == VERSION) { "unknown key file format" }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(TAG_BITS, sealed, 1, NONCE_BYTES))
        cipher.updateAAD(associatedData(name))
        return cipher.doFinal(sealed, HEADER, sealed.size - HEADER)
    }

    /** Stores [secret] under [name], replacing what was there. */
    fun write(name: String, secret: ByteArray) {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        // The provider picks a fresh random nonce (the Android Keystore insists on it).
        cipher.init(Cipher.ENCRYPT_MODE, wrappingKey())
        cipher.updateAAD(associatedData(name))
        val sealedText = cipher.doFinal(secret)
        val nonce = cipher.iv
        check(nonce.size == NONCE_BYTES) { "unexpected GCM nonce length" }

        directory.mkdirs()
        val target = fileFor(name)
        val temporary = File(directory, target.name + ".tmp")
        FileOutputStream(temporary).use { out ->
            out.write(byteArrayOf(VERSION))
            out.write(nonce)
            out.write(sealedText)
            out.fd.sync()
        }
        Files.move(
            temporary.toPath(),
            target.toPath(),
            StandardCopyOption.REPLACE_EXISTING,
            StandardCopyOption.ATOMIC_MOVE,
        )
    }

    /** The file for [name]: its UTF-8 bytes in hex, so any name is a safe file name. */
    private fun fileFor(name: String): File {
        val hex = name.toByteArray(Charsets.UTF_8).joinToString("") { "%02x".format(it) }
        return File(directory, "key-$hex.bin")
    }

    private fun associatedData(name: String): ByteArray = "cairn key file v1\u0000$name".toByteArray(Charsets.UTF_8)

    private companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val VERSION: Byte = 1
        const val NONCE_BYTES = 12
        const val TAG_BITS = 128
        const val HEADER = 1 + NONCE_BYTES
    }
}
