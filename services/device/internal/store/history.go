package store

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

// historySchema orders a device's history; it takes no filter.
var historySchema = filter.Schema{"time": {Column: "h.at", Kind: filter.Time}}

// ListDeviceHistory pages through the audit records indexed under a device
// (migrations/003_history.sql), newest first. Each record comes with the account and
// product of the line item it is about, as the device's mappings knew them, so that
// it can be masked like the device.
func (s *Store) ListDeviceHistory(ctx context.Context, tenant, deviceID string, pageSize int, pageToken string) ([]app.HistoryRecord, string, error) {
	plan, err := historySchema.PlanTyped(filter.Query{OrderBy: "time desc", PageSize: pageSize, PageToken: pageToken}, "h.event_id", filter.IDUUID, 3)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT a.id::text, a.at, a.actor_user_id, a.subject, a.event_type, a.payload::text,
			coalesce(li.account_id, ''), coalesce(li.product_id, ''), `+plan.SortKey+`
		FROM device_history h
		JOIN audit_log a ON a.id = h.event_id
		LEFT JOIN LATERAL (
			SELECT m.account_id, m.product_id FROM device_line_items m
			WHERE m.tenant_id = h.tenant_id AND m.device_id = h.device_id AND m.activation_id = a.payload->>'activation_id'
			ORDER BY m.created_at DESC LIMIT 1
		) li ON true
		WHERE h.tenant_id = $1 AND h.device_id = $2 AND `+plan.Where+` ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit),
		append([]any{tenant, deviceID}, plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	return filter.CollectPage(plan, rows, func(r pgx.CollectableRow, e *app.HistoryRecord, key *string) error {
		return r.Scan(&e.EventID, &e.Time, &e.ActorUserID, &e.Subject, &e.EventType, &e.PayloadJSON, &e.AccountID, &e.ProductID, key)
	}, func(e app.HistoryRecord) string { return e.EventID })
}

// ListAuditEvents pages through the service's audit trail.
func (s *Store) ListAuditEvents(ctx context.Context, tenant string, q filter.Query) ([]events.AuditEvent, string, error) {
	return events.ListAudit(ctx, s.pool, tenant, q)
}
