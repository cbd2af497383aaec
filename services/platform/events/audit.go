package events

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

// AuditEvent is one entry of a service's audit trail (SPEC PLT-4).
type AuditEvent struct {
	ID, ActorUserID, ActorService, TokenID, ImpersonatorID, Subject, EventType, PayloadJSON string
	Impersonated                                                                            bool
	Time                                                                                    time.Time
}

// Querier runs a query: a pool or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

var auditSchema = filter.Schema{
	"subject":      {Column: "subject", Kind: filter.Text},
	"event_type":   {Column: "event_type", Kind: filter.Text},
	"actor":        {Column: "actor_user_id", Kind: filter.Exact, Collection: "users"},
	"token_id":     {Column: "token_id", Kind: filter.Exact},
	"impersonated": {Column: "impersonated", Kind: filter.Bool},
	"time":         {Column: "at", Kind: filter.Time},
}

// ListAudit pages through a tenant's audit trail in the schema db reaches.
func ListAudit(ctx context.Context, db Querier, tenant string, q filter.Query) ([]AuditEvent, string, error) {
	plan, err := auditSchema.PlanTyped(q, "id", filter.IDUUID, 2)
	if err != nil {
		return nil, "", err
	}
	rows, err := db.Query(ctx, `SELECT id::text, at, actor_user_id, actor_service, token_id, impersonated, impersonator_id, subject, event_type, payload::text,
		`+plan.SortKey+` AS sort_key FROM audit_log WHERE tenant_id = $1 AND `+plan.Where+` ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit),
		append([]any{tenant}, plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	return filter.CollectPage(plan, rows, func(r pgx.CollectableRow, e *AuditEvent, key *string) error {
		return r.Scan(&e.ID, &e.Time, &e.ActorUserID, &e.ActorService, &e.TokenID, &e.Impersonated, &e.ImpersonatorID, &e.Subject, &e.EventType, &e.PayloadJSON, key)
	}, func(e AuditEvent) string { return e.ID })
}

// AuditPage is ListAudit's answer as the shared list response.
func AuditPage(list []AuditEvent, next string) *commonpb.ListAuditEventsResponse {
	out := &commonpb.ListAuditEventsResponse{NextPageToken: next}
	for _, e := range list {
		out.AuditEvents = append(out.AuditEvents, &commonpb.AuditEvent{
			Name: "auditEvents/" + e.ID, EventId: e.ID, Time: timestamppb.New(e.Time), Actor: userRef(e.ActorUserID),
			ActorService: e.ActorService, TokenId: e.TokenID, Impersonated: e.Impersonated, Impersonator: userRef(e.ImpersonatorID),
			Subject: e.Subject, EventType: e.EventType, PayloadJson: e.PayloadJSON,
		})
	}
	return out
}

func userRef(id string) string {
	if id == "" {
		return ""
	}
	return "users/" + id
}

// QueryOf reads a list request's paging and filter fields.
func QueryOf(req *commonpb.ListAuditEventsRequest) filter.Query {
	return filter.Query{Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize())}
}
