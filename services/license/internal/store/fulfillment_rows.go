package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/license/internal/app"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

// newFulfillments collects the fulfillments of one transaction, column by column, so
// that they are inserted with one statement however many there are: a group of
// activations then costs the database one statement, not one per fulfillment.
type newFulfillments struct {
	ids, activations, accounts, hostIDs, states, texts, jsons, keys, requests, users   []string
	supportTypes, products, versions, models, technologies, entitlements, productLines []string
	roots                                                                              []string
	parents, consolidated                                                              []*string
	quantities, overdrafts                                                             []int64
	claims                                                                             []uuid.UUID
	expires                                                                            []*time.Time
	created                                                                            []time.Time
	attributes                                                                         []map[string]string
	servers, nodes                                                                     ragged
	events                                                                             events.Outbox
}

// ragged carries one list of strings per row as two flat arrays (Postgres arrays
// are rectangular): each value with the 1-based number of its row.
type ragged struct {
	rows   []int64
	values []string
}

func (r *ragged) add(row int, values []string) {
	for _, v := range values {
		r.rows = append(r.rows, int64(row))
		r.values = append(r.values, v)
	}
}

// add collects f and its created event; ctx names who caused it. A fulfillment
// without a creation time is created now, at the precision Postgres keeps
// (microseconds): the answer then shows the time a replay reads back.
func (n *newFulfillments) add(ctx context.Context, tenant string, f *app.Fulfillment) error {
	if f.CreateTime.IsZero() {
		f.CreateTime = time.Now().Truncate(time.Microsecond)
	}
	attrs := f.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	n.ids = append(n.ids, f.ID)
	n.activations = append(n.activations, f.ActivationID)
	n.accounts = append(n.accounts, f.AccountID)
	n.hostIDs = append(n.hostIDs, f.HostID)
	n.quantities = append(n.quantities, f.Quantity)
	n.states = append(n.states, f.State)
	n.texts = append(n.texts, f.LicenseText)
	n.jsons = append(n.jsons, f.LicenseJSON)
	n.keys = append(n.keys, f.KeyID)
	n.requests = append(n.requests, f.RequestID)
	n.claims = append(n.claims, f.ClaimID)
	n.users = append(n.users, f.UserID)
	n.supportTypes = append(n.supportTypes, f.SupportType)
	n.servers.add(len(n.ids), f.ServerHostIDs)
	n.nodes.add(len(n.ids), f.NodeHostIDs)
	n.overdrafts = append(n.overdrafts, f.Overdraft)
	n.products = append(n.products, f.ProductID)
	n.versions = append(n.versions, f.Version)
	n.models = append(n.models, f.ModelType)
	n.technologies = append(n.technologies, f.Technology)
	n.expires = append(n.expires, f.ExpireTime)
	n.attributes = append(n.attributes, attrs)
	n.parents = append(n.parents, pg.NullIfEmpty(f.ParentID))
	n.consolidated = append(n.consolidated, pg.NullIfEmpty(f.ConsolidatedID))
	n.entitlements = append(n.entitlements, f.EntitlementID)
	n.productLines = append(n.productLines, f.ProductLineID)
	n.roots = append(n.roots, f.RootID)
	n.created = append(n.created, f.CreateTime)
	_, err := n.events.Add(ctx, events.Subject("license", "fulfillment", "created"), tenant, &eventspb.FulfillmentCreated{
		FulfillmentId: f.ID, ActivationId: f.ActivationID, AccountId: f.AccountID, HostId: f.HostID,
		Quantity: f.Quantity, UserId: f.UserID, LicenseText: f.LicenseText, CreateTime: timestamppb.New(f.CreateTime), ShipToEmails: f.ShipTo,
	})
	return err
}

// queue adds the fulfillments and their events to b.
func (n *newFulfillments) queue(b *pgx.Batch, tenant string) {
	if len(n.ids) == 0 {
		return
	}
	b.Queue(`INSERT INTO fulfillments (tenant_id, id, activation_id, account_id, host_id, quantity, state, license_text, license_json, key_id, request_id, claim_id, user_id,
			support_type, server_host_ids, node_host_ids, overdraft, product_id, version, model_type, technology, expire_time, attributes, parent_id, consolidated_id,
			entitlement_id, product_line_id, root_id, created_at)
		SELECT $1, f.id, f.activation_id, f.account_id, f.host_id, f.quantity, f.state, f.license_text, f.license_json, f.key_id, f.request_id, f.claim_id, f.user_id,
			f.support_type, coalesce(s.ids, '{}'), coalesce(n.ids, '{}'), f.overdraft, f.product_id, f.version, f.model_type, f.technology, f.expire_time, f.attributes,
			f.parent_id, f.consolidated_id, f.entitlement_id, f.product_line_id, coalesce(nullif(f.root_id, ''), f.id), f.created_at
		FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::uuid[],
				$13::text[], $14::text[], $15::bigint[], $16::text[], $17::text[], $18::text[], $19::text[], $20::timestamptz[], $21::jsonb[], $22::text[],
				$23::text[], $24::text[], $25::text[], $26::text[], $27::timestamptz[])
			WITH ORDINALITY AS f(id, activation_id, account_id, host_id, quantity, state, license_text, license_json, key_id, request_id, claim_id,
				user_id, support_type, overdraft, product_id, version, model_type, technology, expire_time, attributes, parent_id,
				consolidated_id, entitlement_id, product_line_id, root_id, created_at, item)
		LEFT JOIN (SELECT item, array_agg(id ORDER BY pos) AS ids FROM unnest($28::bigint[], $29::text[]) WITH ORDINALITY AS h(item, id, pos) GROUP BY item) s
			ON s.item = f.item
		LEFT JOIN (SELECT item, array_agg(id ORDER BY pos) AS ids FROM unnest($30::bigint[], $31::text[]) WITH ORDINALITY AS h(item, id, pos) GROUP BY item) n
			ON n.item = f.item`,
		tenant, n.ids, n.activations, n.accounts, n.hostIDs, n.quantities, n.states, n.texts, n.jsons, n.keys, n.requests, n.claims,
		n.users, n.supportTypes, n.overdrafts, n.products, n.versions, n.models, n.technologies, n.expires, n.attributes, n.parents,
		n.consolidated, n.entitlements, n.productLines, n.roots, n.created,
		n.servers.rows, n.servers.values, n.nodes.rows, n.nodes.values)
	n.events.Queue(b)
}
