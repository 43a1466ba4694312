package org.countersign.app.platform

import android.Manifest
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import androidx.core.app.NotificationCompat
import androidx.core.app.NotificationManagerCompat
import androidx.core.content.ContextCompat
import org.countersign.app.R
import org.countersign.app.logic.SignInNotification
import org.countersign.app.ui.MainActivity

/** Sign-in request notifications: the app name only; never a number or a code. */
object Notifications {
    private const val CHANNEL = "signin"
    const val EXTRA_CHALLENGE_ID = "org.countersign.app.CHALLENGE_ID"

    fun createChannel(context: Context) {
        val channel = NotificationChannel(
            CHANNEL, context.getString(R.string.channel_signin), NotificationManager.IMPORTANCE_HIGH,
        ).apply { lockscreenVisibility = android.app.Notification.VISIBILITY_PRIVATE }
        context.getSystemService(NotificationManager::class.java).createNotificationChannel(channel)
    }

    fun showSignIn(context: Context, note: SignInNotification) =
        post(context, note.challengeId.hashCode(), note.title, note.text, note.challengeId)

    fun showCheckRequests(context: Context) = post(
        context, 1, context.getString(R.string.notification_check_title),
        context.getString(R.string.notification_check_text), null,
    )

    private fun post(context: Context, id: Int, title: String, text: String, challengeId: String?) {
        if (ContextCompat.checkSelfPermission(context, Manifest.permission.POST_NOTIFICATIONS) !=
            PackageManager.PERMISSION_GRANTED
        ) {
            return // the app polls when opened
        }
        val open = Intent(context, MainActivity::class.java)
            .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK or Intent.FLAG_ACTIVITY_CLEAR_TOP)
            .apply { challengeId?.let { putExtra(EXTRA_CHALLENGE_ID, it) } }
        val pending = PendingIntent.getActivity(
            context, id, open, PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT,
        )
        val n = NotificationCompat.Builder(context, CHANNEL)
            .setSmallIcon(R.drawable.ic_notification)
            .setContentTitle(title)
            .setContentText(text)
            .setCategory(NotificationCompat.CATEGORY_CALL)
            .setPriority(NotificationCompat.PRIORITY_HIGH)
            .setVisibility(NotificationCompat.VISIBILITY_PRIVATE)
            .setAutoCancel(true)
            .setContentIntent(pending)
            .build()
        NotificationManagerCompat.from(context).notify(id, n)
    }
}
