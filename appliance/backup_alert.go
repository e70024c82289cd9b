package appliance

import (
	"context"
	"fmt"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/backup"
	"gatehouse/appliance/notify"
)

// tellBackups tells the administrators when backups stop working — a run
// failed (target missing, full, unwritable) or none ran for 26 hours — and
// when they work again, through the notification outbox: in their pages,
// by e-mail to the addresses on the backup page, and to the webhooks that
// want backup.failed / backup.recovered. Once per episode: what was told
// is recorded (backup.told), so neither the next minute's check nor a
// restart tells it again. The guard station's alarm (backupLoop) is apart.
func (a *App) tellBackups(ctx context.Context) {
	h := a.Backups.Health()
	told, err := a.Backups.Told()
	if err != nil {
		a.Log.Error("backup notices", "err", err)
		return
	}
	var note notify.Note
	var next backup.Told
	switch {
	case (h.State == "failed" || h.State == "missed") && !told.Failing:
		next = backup.Told{Failing: true, State: h.State, Run: h.Last.ID}
		note = a.backupFailedNote(h)
	case h.State == "ok" && told.Failing:
		next = backup.Told{State: h.State, Run: h.Last.ID}
		note = notify.Note{Kind: notify.KindBackupRecovered, Subject: "备份已恢复正常 Backups work again",
			Body: fmt.Sprintf("%s 的备份已于 %s 成功写入并校验（%s，%d 字节）。\nThe backup of %s written at %s was verified (%s, %d bytes).",
				a.Config.SiteName, a.backupTime(h.Last), h.Last.File, h.Last.Size, a.Config.SiteName, a.backupTime(h.Last), h.Last.File, h.Last.Size),
			Link: "/admin/backups"}
	default:
		return
	}
	// Recorded first: a notice told twice after a crash is worse than one
	// lost, which the page and /healthz still show.
	if err := a.Backups.SetTold(ctx, next); err != nil {
		a.Log.Error("backup notices", "err", err)
		return
	}
	set, _ := a.Backups.Settings()
	var to []notify.Recipient
	if as, err := a.Auth.Accounts(); err == nil {
		for _, acc := range as {
			if acc.Role == auth.Admin && !acc.Disabled {
				to = append(to, notify.Recipient{AccountID: acc.ID})
			}
		}
	}
	for _, e := range set.Emails {
		to = append(to, notify.Recipient{Email: e})
	}
	for _, r := range to {
		if err := a.Notify.Tell(ctx, "system", r, note); err != nil {
			a.Log.Warn("backup notice not queued", "kind", note.Kind, "err", err)
		}
	}
	if err := a.Notify.Broadcast(ctx, "system", note); err != nil {
		a.Log.Warn("backup webhook notice not queued", "kind", note.Kind, "err", err)
	}
	a.Log.Info("backup notice queued", "kind", note.Kind, "state", h.State, "recipients", len(to))
}

func (a *App) backupTime(r backup.Run) string {
	return time.Unix(0, r.Started).In(a.Config.Location).Format("2006-01-02 15:04")
}

func (a *App) backupFailedNote(h backup.Health) notify.Note {
	n := notify.Note{Kind: notify.KindBackupFailed, Link: "/admin/backups"}
	site := a.Config.SiteName
	if h.State == "missed" {
		last := a.backupTime(h.Last)
		n.Subject = "备份未运行 Backup missed"
		n.Body = fmt.Sprintf("%s 自 %s 起未写入备份。请检查备份目标（U 盘或网络共享）是否已挂载。\nNo backup of %s since %s. Check that the backup target (USB drive or share) is mounted.",
			site, last, site, last)
		return n
	}
	why := shorten(h.Last.Error, 200)
	n.Subject = "备份失败 Backup failed"
	n.Body = fmt.Sprintf("%s 的备份失败（%s）：%s\n请检查备份目标是否已挂载、可写且有空间。\nThe backup of %s failed (%s): %s\nCheck that the target is mounted, writable and has room.",
		site, a.backupTime(h.Last), why, site, a.backupTime(h.Last), why)
	return n
}
