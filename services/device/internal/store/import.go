package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/events"
)

// ImportDevices stores the new rows of an import in one INSERT … SELECT FROM unnest,
// reads the devices the other rows ran into with one SELECT, and writes one
// DeviceCreated event per created device with one batch, all in one transaction.
func (s *Store) ImportDevices(ctx context.Context, tenant string, rows []app.Device) ([]app.ImportOutcome, error) {
	n := len(rows)
	cols := make([][]string, 13)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	for i, d := range rows {
		for c, v := range []string{d.ID, d.AccountID, d.DisplayName, d.HostID, d.Type, d.IDType, d.Model, d.Series, d.SiteName, d.Notes, d.DeviceUser, d.BackupServerID, d.PublisherIdentity} {
			cols[c][i] = v
		}
	}
	out := make([]app.ImportOutcome, n)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		created := map[string]bool{}
		ins, err := tx.Query(ctx, `INSERT INTO devices (tenant_id, id, account_id, display_name, host_id, device_type, id_type, model, series,
				site_name, notes, device_user, backup_server_id, publisher_identity)
			SELECT $1, id, nullif(account_id, ''), display_name, host_id, device_type, id_type, model, series, site_name, notes,
				device_user, nullif(backup_server_id, ''), publisher_identity
			FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
				$11::text[], $12::text[], $13::text[], $14::text[])
				AS r(id, account_id, display_name, host_id, device_type, id_type, model, series, site_name, notes, device_user, backup_server_id, publisher_identity)
			ON CONFLICT DO NOTHING RETURNING id`,
			tenant, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8], cols[9], cols[10], cols[11], cols[12])
		if err != nil {
			return err
		}
		var id string
		if _, err := pgx.ForEachRow(ins, []any{&id}, func() error { created[id] = true; return nil }); err != nil {
			return err
		}
		var others []int
		for i, d := range rows {
			if created[d.ID] {
				out[i] = app.ImportOutcome{ID: d.ID, Created: true}
			} else {
				others = append(others, i)
			}
		}
		if len(others) > 0 {
			if err := s.importConflicts(ctx, tx, tenant, rows, others, out); err != nil {
				return err
			}
		}
		var o events.Outbox
		for i, d := range rows {
			if !out[i].Created {
				continue
			}
			d.Status, d.Deployment = app.StatusActive, app.DeploymentLocal
			if _, err := o.Add(ctx, events.Subject("device", "device", "created"), tenant, createdEvent(d, true)); err != nil {
				return err
			}
		}
		b := &pgx.Batch{}
		o.Queue(b)
		events.QueueNotify(b)
		return tx.SendBatch(ctx, b).Close()
	})
	return out, err
}

// importConflicts decides the rows that were not inserted: a row equal to the
// device holding its identity (or its ID) is unchanged, else it conflicts.
func (s *Store) importConflicts(ctx context.Context, tx pgx.Tx, tenant string, rows []app.Device, others []int, out []app.ImportOutcome) error {
	ids := make([]string, len(others))
	types, idTypes, hosts := make([]string, len(others)), make([]string, len(others)), make([]string, len(others))
	for j, i := range others {
		ids[j], types[j], idTypes[j], hosts[j] = rows[i].ID, rows[i].Type, rows[i].IDType, rows[i].HostID
	}
	res, err := tx.Query(ctx, `SELECT `+deviceCols+` FROM devices d WHERE d.tenant_id = $1 AND (d.id = ANY($2)
		OR (d.status <> 'returned' AND d.server_id IS NULL AND (d.device_type, d.id_type, d.host_id) IN
			(SELECT * FROM unnest($3::text[], $4::text[], $5::text[]))))`, tenant, ids, types, idTypes, hosts)
	if err != nil {
		return err
	}
	byID := map[string]app.Device{}
	byIdentity := map[string]app.Device{}
	_, err = collect(res, func(d app.Device) {
		byID[d.ID] = d
		if d.Status != app.StatusReturned && d.ServerID == "" {
			byIdentity[d.Type+"\x00"+d.IDType+"\x00"+d.HostID] = d
		}
	})
	if err != nil {
		return err
	}
	for _, i := range others {
		row := rows[i]
		existing, found := byIdentity[row.Type+"\x00"+row.IDType+"\x00"+row.HostID]
		if !found {
			if existing, found = byID[row.ID]; !found {
				out[i] = app.ImportOutcome{Conflict: "the device changed while importing; import the row again"}
				continue
			}
		}
		switch {
		case existing.ID != row.ID:
			out[i] = app.ImportOutcome{Conflict: fmt.Sprintf("device %s already has this %s ID", existing.ID, row.IDType)}
		case !sameImported(existing, row):
			out[i] = app.ImportOutcome{Conflict: fmt.Sprintf("device %s exists with other details", existing.ID)}
		default:
			out[i] = app.ImportOutcome{ID: existing.ID, Unchanged: true}
		}
	}
	return nil
}

// sameImported compares what an import row sets.
func sameImported(d, row app.Device) bool {
	return d.Type == row.Type && d.IDType == row.IDType && d.HostID == row.HostID && d.AccountID == row.AccountID &&
		d.DisplayName == row.DisplayName && d.Model == row.Model && d.Series == row.Series && d.SiteName == row.SiteName &&
		d.Notes == row.Notes && d.DeviceUser == row.DeviceUser && d.BackupServerID == row.BackupServerID &&
		d.PublisherIdentity == row.PublisherIdentity && d.Status != app.StatusReturned
}

func collect(rows pgx.Rows, each func(app.Device)) (int, error) {
	defer rows.Close()
	n := 0
	for rows.Next() {
		var d app.Device
		if err := scanDevice(rows, &d); err != nil {
			return n, err
		}
		each(d)
		n++
	}
	return n, rows.Err()
}
