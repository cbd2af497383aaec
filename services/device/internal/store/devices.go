package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

// deviceCols are read by scanDevice, in its order.
const deviceCols = `d.id, coalesce(d.account_id, ''), d.display_name, d.id_type, d.host_id, d.device_type, d.status, d.deployment,
	d.model, d.series, d.site_name, d.notes, d.device_user, coalesce(d.backup_server_id, ''), d.publisher_identity,
	coalesce(d.server_id, ''), d.attributes, d.virtualization, d.admin_password_hash IS NOT NULL, d.sequence, d.rma_number,
	coalesce(d.returned_to, ''), d.return_time, coalesce(d.request_id, ''), d.created_at, d.updated_at`

func scanDevice(row pgx.Row, d *app.Device, extra ...any) error {
	var attrs, virt []byte
	var returned *time.Time
	err := row.Scan(append([]any{
		&d.ID, &d.AccountID, &d.DisplayName, &d.IDType, &d.HostID, &d.Type, &d.Status, &d.Deployment,
		&d.Model, &d.Series, &d.SiteName, &d.Notes, &d.DeviceUser, &d.BackupServerID, &d.PublisherIdentity,
		&d.ServerID, &attrs, &virt, &d.AdminPasswordSet, &d.Sequence, &d.RMANumber,
		&d.ReturnedTo, &returned, &d.RequestID, &d.CreateTime, &d.UpdateTime,
	}, extra...)...)
	if err != nil {
		return err
	}
	if returned != nil {
		d.ReturnTime = *returned
	}
	if err := json.Unmarshal(attrs, &d.Attributes); err != nil {
		return fmt.Errorf("device %s attributes: %w", d.ID, err)
	}
	if len(virt) > 0 && string(virt) != "null" {
		d.Virtualization = &app.Virtualization{}
		if err := json.Unmarshal(virt, d.Virtualization); err != nil {
			return fmt.Errorf("device %s virtualization: %w", d.ID, err)
		}
	}
	return nil
}

func attributesJSON(m map[string]string) []byte {
	if m == nil {
		m = map[string]string{}
	}
	b, _ := json.Marshal(m)
	return b
}

func virtualizationJSON(v *app.Virtualization) []byte {
	if v == nil || *v == (app.Virtualization{}) {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// eventType is the device type as events name it.
func eventType(t string) string {
	if t == app.TypeClient {
		return "standalone"
	}
	return t
}

func createdEvent(d app.Device, imported bool) *eventspb.DeviceCreated {
	return &eventspb.DeviceCreated{
		DeviceId: d.ID, AccountId: d.AccountID, IdType: d.IDType, HostId: d.HostID, Type: eventType(d.Type),
		Deployment: d.Deployment, DisplayName: d.DisplayName, Imported: imported,
	}
}

// CreateDevice stores a device with its DeviceCreated event, or returns the one
// created earlier under the same request ID (replayed). A live device of the same
// type with the same identity is refused.
func (s *Store) CreateDevice(ctx context.Context, tenant string, d app.Device) (out app.Device, replayed bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO devices (tenant_id, id, account_id, display_name, host_id, device_type, request_id,
				id_type, status, deployment, model, series, site_name, notes, device_user, backup_server_id, publisher_identity,
				attributes, virtualization)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
			tenant, d.ID, pg.NullIfEmpty(d.AccountID), d.DisplayName, d.HostID, d.Type, pg.NullIfEmpty(d.RequestID),
			d.IDType, d.Status, d.Deployment, d.Model, d.Series, d.SiteName, d.Notes, d.DeviceUser, pg.NullIfEmpty(d.BackupServerID),
			d.PublisherIdentity, attributesJSON(d.Attributes), virtualizationJSON(d.Virtualization))
		if err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("device", "device", "created"), tenant, createdEvent(d, false))
		return err
	})
	if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists {
		return s.createConflict(ctx, tenant, d)
	}
	if err != nil {
		return app.Device{}, false, err
	}
	out, err = s.GetDevice(ctx, tenant, d.ID)
	return out, false, err
}

// createConflict explains a refused insert: a replay returns the first device; else
// the device ID or the identity is taken. The device holding a taken identity is not
// named: it may be another account's.
func (s *Store) createConflict(ctx context.Context, tenant string, d app.Device) (app.Device, bool, error) {
	if d.RequestID != "" {
		var id string
		err := s.pool.QueryRow(ctx, `SELECT id FROM devices WHERE tenant_id = $1 AND request_id = $2`, tenant, d.RequestID).Scan(&id)
		if err == nil {
			prev, err := s.GetDevice(ctx, tenant, id)
			return prev, err == nil, err
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return app.Device{}, false, err
		}
	}
	var taken string
	err := s.pool.QueryRow(ctx, `SELECT id FROM devices WHERE tenant_id = $1 AND device_type = $2 AND id_type = $3 AND host_id = $4
		AND status <> 'returned' AND server_id IS NULL AND host_id <> ''`, tenant, d.Type, d.IDType, d.HostID).Scan(&taken)
	if err == nil && taken != d.ID {
		return app.Device{}, false, &errs.Error{
			Kind: errs.KindAlreadyExists, Reason: "DEVICE_IDENTITY_TAKEN",
			Message: fmt.Sprintf("a %s device with the %s ID %q exists already; a device's identity is unique per type (a server and a standalone device may share it)",
				eventType(d.Type), d.IDType, d.HostID),
			Metadata: map[string]string{"resource": "device", "id_type": d.IDType, "host_id": d.HostID},
		}
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return app.Device{}, false, err
	}
	return app.Device{}, false, errs.AlreadyExists("device", d.ID)
}

// GetDevice reads a device with its live seats summed per line item.
func (s *Store) GetDevice(ctx context.Context, tenant, id string) (app.Device, error) {
	var d app.Device
	err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices d WHERE d.tenant_id = $1 AND d.id = $2`, tenant, id), &d)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, errs.NotFound("device", id)
	}
	if err != nil {
		return d, err
	}
	list := []app.Device{d}
	if err := s.loadMappings(ctx, tenant, list); err != nil {
		return d, err
	}
	return list[0], nil
}

// loadMappings fills the live mappings of the devices, summed per line item, in one
// query.
func (s *Store) loadMappings(ctx context.Context, tenant string, list []app.Device) error {
	if len(list) == 0 {
		return nil
	}
	idx := make(map[string]int, len(list))
	deviceIDs := make([]string, len(list))
	for i, d := range list {
		idx[d.ID], deviceIDs[i] = i, d.ID
	}
	rows, err := s.pool.Query(ctx, `SELECT device_id, activation_id, account_id, product_id, sum(quantity)::bigint,
			min(expire_at), min(configured_expire_at), min(created_at)
		FROM device_line_items WHERE tenant_id = $1 AND device_id = ANY($2) AND ended_at IS NULL
		GROUP BY device_id, activation_id, account_id, product_id ORDER BY device_id, activation_id`, tenant, deviceIDs)
	if err != nil {
		return err
	}
	var deviceID string
	var m app.Mapping
	var expire, configured *time.Time
	_, err = pgx.ForEachRow(rows, []any{&deviceID, &m.ActivationID, &m.AccountID, &m.ProductID, &m.Quantity, &expire, &configured, &m.CreateTime}, func() error {
		out := m
		if expire != nil {
			out.ExpireAt = *expire
		}
		if configured != nil {
			out.ConfiguredExpireAt = *configured
		}
		i := idx[deviceID]
		list[i].Mappings = append(list[i].Mappings, out)
		return nil
	})
	return err
}

// UpdateDevice applies change to the locked row and stores it with its event.
func (s *Store) UpdateDevice(ctx context.Context, tenant, id string, change func(*app.Device) ([]string, error)) (app.Device, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var d app.Device
		err := scanDevice(tx.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices d WHERE d.tenant_id = $1 AND d.id = $2 FOR UPDATE`, tenant, id), &d)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("device", id)
		}
		if err != nil {
			return err
		}
		fields, err := change(&d)
		if err != nil || len(fields) == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE devices SET display_name = $3, model = $4, series = $5, site_name = $6, notes = $7,
				device_user = $8, backup_server_id = $9, publisher_identity = $10, attributes = $11, virtualization = $12,
				status = $13, updated_at = now()
			WHERE tenant_id = $1 AND id = $2`, tenant, id, d.DisplayName, d.Model, d.Series, d.SiteName, d.Notes,
			d.DeviceUser, pg.NullIfEmpty(d.BackupServerID), d.PublisherIdentity, attributesJSON(d.Attributes),
			virtualizationJSON(d.Virtualization), d.Status); err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("device", "device", "updated"), tenant,
			&eventspb.DeviceUpdated{DeviceId: id, Fields: fields, Status: d.Status})
		return err
	})
	if err != nil {
		return app.Device{}, err
	}
	return s.GetDevice(ctx, tenant, id)
}

// SetAdminPassword stores a cloud server's administrator password hash.
func (s *Store) SetAdminPassword(ctx context.Context, tenant, id, hash string) (app.Device, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE devices SET admin_password_hash = $3, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND deployment = 'cloud' AND status <> 'returned'`, tenant, id, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errs.FailedPrecondition("NOT_CLOUD_SERVER", "device %s is not a live cloud license server", id)
		}
		_, err = events.Write(ctx, tx, events.Subject("device", "device", "admin_password_set"), tenant, &eventspb.DeviceAdminPasswordSet{DeviceId: id})
		return err
	})
	if err != nil {
		return app.Device{}, err
	}
	return s.GetDevice(ctx, tenant, id)
}

var (
	deviceTypes = map[string]string{
		"DEVICE_TYPE_STANDALONE": app.TypeClient, "STANDALONE": app.TypeClient, "CLIENT": app.TypeClient,
		"DEVICE_TYPE_SERVER": app.TypeServer, "SERVER": app.TypeServer,
		"DEVICE_TYPE_SERVED_CLIENT": app.TypeServedClient, "SERVED_CLIENT": app.TypeServedClient,
	}
	deviceStatuses = map[string]string{
		"DEVICE_STATUS_ACTIVE": app.StatusActive, "ACTIVE": app.StatusActive,
		"DEVICE_STATUS_RETURNED": app.StatusReturned, "RETURNED": app.StatusReturned,
		"DEVICE_STATUS_OBSOLETE": app.StatusObsolete, "OBSOLETE": app.StatusObsolete,
		"DEVICE_STATUS_NORMAL": app.StatusNormal, "NORMAL": app.StatusNormal,
		"DEVICE_STATUS_SERVED_RETURNED": app.StatusServedReturned, "SERVED_RETURNED": app.StatusServedReturned,
		"DEVICE_STATUS_DROPPED": app.StatusDropped, "DROPPED": app.StatusDropped,
		"DEVICE_STATUS_EXPIRED": app.StatusExpired, "EXPIRED": app.StatusExpired,
	}
	deploymentValues = map[string]string{
		"DEPLOYMENT_LOCAL": app.DeploymentLocal, "LOCAL": app.DeploymentLocal,
		"DEPLOYMENT_CLOUD": app.DeploymentCloud, "CLOUD": app.DeploymentCloud,
	}
)

// deviceSchema is what ListDevices filters and orders on (SPEC DEV-2).
var deviceSchema = filter.Schema{
	"device_id":    {Column: "d.id", Kind: filter.Text},
	"display_name": {Column: "d.display_name", Kind: filter.Text},
	"host_id":      {Column: "d.host_id", Kind: filter.Text},
	"id_type":      {Column: "d.id_type", Kind: filter.Text},
	"model":        {Column: "d.model", Kind: filter.Text},
	"series":       {Column: "d.series", Kind: filter.Text},
	"site_name":    {Column: "d.site_name", Kind: filter.Text},
	"device_user":  {Column: "d.device_user", Kind: filter.Text},
	"notes":        {Column: "d.notes", Kind: filter.Text},
	"type":         {Column: "d.device_type", Kind: filter.Exact, Values: deviceTypes, Sortable: true},
	"status":       {Column: "d.status", Kind: filter.Exact, Values: deviceStatuses, Sortable: true},
	"deployment":   {Column: "d.deployment", Kind: filter.Exact, Values: deploymentValues},
	// An account search finds the devices the account owns and those holding its
	// line items' seats (SPEC DEV-2).
	"account": {Column: "d.account_id", Kind: filter.Exact, Collection: "accounts", Match: func(param string) string {
		return `coalesce(d.account_id, '') = ` + param + ` OR EXISTS (SELECT 1 FROM device_line_items l WHERE l.tenant_id = d.tenant_id
			AND l.device_id = d.id AND l.ended_at IS NULL AND l.account_id = ` + param + `)`
	}},
	"server":         {Column: "d.server_id", Kind: filter.Exact, Collection: "devices"},
	"backup_server":  {Column: "d.backup_server_id", Kind: filter.Exact, Collection: "devices"},
	"create_time":    {Column: "d.created_at", Kind: filter.Time},
	"update_time":    {Column: "d.updated_at", Kind: filter.Time},
	"attributes":     {Column: "d.attributes", Kind: filter.Attrs},
	"virtualization": {Column: "d.virtualization", Kind: filter.Attrs},
}

// ListDevices lists a page of the devices within scope (ScopeSQL).
func (s *Store) ListDevices(ctx context.Context, tenant string, scope app.Scope, q app.DeviceQuery) ([]app.Device, string, error) {
	// The shortcuts join the filter, so that page tokens are bound to them too.
	for _, c := range [][2]string{{"type", q.Type}, {"status", q.Status}} {
		field, value := c[0], c[1]
		if value == "" {
			continue
		}
		if q.Filter != "" {
			q.Filter += " AND "
		}
		q.Filter += field + " = " + strings.ToUpper(value)
	}
	visible, scopeArgs := ScopeSQL(scope, "d", 2)
	plan, err := deviceSchema.Plan(q.Query, "d.id", 2+len(scopeArgs))
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+deviceCols+`, `+plan.SortKey+` FROM devices d
		WHERE d.tenant_id = $1 AND `+visible+` AND `+plan.Where+` ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit),
		append(append([]any{tenant}, scopeArgs...), plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	list, next, err := filter.CollectPage(plan, rows, func(r pgx.CollectableRow, d *app.Device, key *string) error { return scanDevice(r, d, key) },
		func(d app.Device) string { return d.ID })
	if err != nil {
		return nil, "", err
	}
	return list, next, s.loadMappings(ctx, tenant, list)
}

// CountDevices counts the devices of the accounts.
func (s *Store) CountDevices(ctx context.Context, tenant string, accountIDs []string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM devices WHERE tenant_id = $1 AND account_id = ANY($2)`, tenant, accountIDs).Scan(&n)
	return n, err
}
