package org.countersign.app.platform

import android.app.Application
import android.content.Context
import android.os.Build
import com.google.firebase.FirebaseApp
import com.google.firebase.FirebaseOptions
import com.google.firebase.messaging.FirebaseMessaging
import java.io.File
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch
import kotlinx.coroutines.tasks.await
import org.countersign.app.BuildConfig
import org.countersign.app.logic.AppLock
import org.countersign.app.logic.LockSettings
import org.countersign.app.logic.PushCoordinator
import org.countersign.app.logic.UserMessage
import org.countersign.app.logic.userMessage
import org.countersign.core.AuthenticatorClient
import org.countersign.core.Clock
import org.countersign.core.CountersignException
import org.countersign.core.DeviceDescription
import org.countersign.core.PushTarget

/** The system clock, shared by the core and the countdowns so both agree. */
object SystemClock : Clock {
    override fun nowUnixSeconds(): ULong = (System.currentTimeMillis() / 1000).toULong()
}

/** Everything that needs an open vault. */
class Session(val client: AuthenticatorClient, context: Context) {
    val clock: Clock = SystemClock
    val push = PushCoordinator(client)
    val lock = AppLock(client, clock, LockPreferences.load(context))

    @Volatile
    var pushTarget: PushTarget = PushTarget("none", "")

    val device = DeviceDescription(
        name = Build.MODEL.take(64),
        platform = "android",
        appVersion = BuildConfig.VERSION_NAME,
    )
}

class CountersignApp : Application() {
    /** The open vault, or why it did not open (shown instead of the app; the file is kept). */
    lateinit var session: Result<Session>
        private set

    val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    override fun onCreate() {
        super.onCreate()
        session = openSession()
        Notifications.createChannel(this)
        session.getOrNull()?.let { s ->
            s.client.setDeviceSigner(androidDeviceSigner(this))
            startPush(s)
        }
    }

    private fun openSession(): Result<Session> = try {
        val path = File(noBackupFilesDir, "vault.db").path
        Result.success(Session(AuthenticatorClient.open(path, androidKeystoreKeyStore(this), SystemClock), this))
    } catch (e: CountersignException) {
        Result.failure(e)
    }

    /** FCM when this build carries a Firebase configuration; otherwise poll only (provider `none`). */
    private fun startPush(s: Session) {
        if (BuildConfig.FCM_APP_ID.isEmpty()) return
        if (FirebaseApp.getApps(this).isEmpty()) {
            FirebaseApp.initializeApp(
                this,
                FirebaseOptions.Builder()
                    .setApplicationId(BuildConfig.FCM_APP_ID)
                    .setProjectId(BuildConfig.FCM_PROJECT_ID)
                    .setApiKey(BuildConfig.FCM_API_KEY)
                    .setGcmSenderId(BuildConfig.FCM_SENDER_ID)
                    .build(),
            )
        }
        scope.launch {
            runCatching { FirebaseMessaging.getInstance().token.await() }
                .onSuccess { s.pushTarget = PushTarget("fcm", it) }
        }
    }

    /**
     * Runs [block] with the vault unlocked for background work (a push arrived while the app lock
     * had locked it) and locks it again afterwards if it was locked. Nothing is shown meanwhile.
     */
    suspend fun <T> withVault(block: suspend (Session) -> T): Result<T> {
        val s = session.getOrElse { return Result.failure(it) }
        val wasLocked = s.client.isLocked()
        return try {
            if (wasLocked) s.client.unlock()
            Result.success(block(s))
        } catch (e: CountersignException) {
            Result.failure(e)
        } finally {
            if (wasLocked) s.client.lock()
        }
    }

    fun messageFor(e: Throwable): UserMessage = userMessage(e)
}

val Context.countersign: CountersignApp
    get() = applicationContext as CountersignApp

/** The lock settings, kept in SharedPreferences (not secret). */
object LockPreferences {
    private const val FILE = "lock"

    fun load(context: Context): LockSettings {
        val p = context.getSharedPreferences(FILE, Context.MODE_PRIVATE)
        val d = LockSettings()
        return LockSettings(
            lockOnLaunch = p.getBoolean("lock_on_launch", d.lockOnLaunch),
            lockAfterSeconds = p.getLong("lock_after_seconds", d.lockAfterSeconds),
        )
    }

    fun save(context: Context, settings: LockSettings) {
        context.getSharedPreferences(FILE, Context.MODE_PRIVATE).edit()
            .putBoolean("lock_on_launch", settings.lockOnLaunch)
            .putLong("lock_after_seconds", settings.lockAfterSeconds)
            .apply()
    }
}
