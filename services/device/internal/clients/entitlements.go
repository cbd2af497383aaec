package clients

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/ttlcache"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
)

// Entitlements answers app.Entitlements from the entitlement service. Line items are
// read fresh on every call: seats and dates change under mappings. An account's
// upgrade chains are reused for chainTTL: they change only when an upgrade, upsell
// or renewal is sold, and only what device reads show depends on them.
type Entitlements struct {
	Ent    entitlementpb.EntitlementServiceClient
	chains *ttlcache.Cache[string, map[string]string]
}

const chainTTL = 5 * time.Second

// NewEntitlements returns the adapter over the entitlement service's client.
func NewEntitlements(c entitlementpb.EntitlementServiceClient) Entitlements {
	return Entitlements{Ent: c, chains: ttlcache.New[string, map[string]string](chainTTL)}
}

// LineItem reads a line item.
func (e Entitlements) LineItem(ctx context.Context, activationID string) (app.LineItem, error) {
	li, err := e.Ent.GetLineItem(ctx, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + activationID})
	if err != nil {
		return app.LineItem{}, err
	}
	return lineItemOf(li), nil
}

func lineItemOf(li *entitlementpb.LineItem) app.LineItem {
	out := app.LineItem{
		ActivationID:           li.GetActivationId(),
		AccountID:              strings.TrimPrefix(li.GetAccount(), "accounts/"),
		ProductID:              strings.TrimPrefix(li.GetProduct(), "products/"),
		EntitlementID:          strings.TrimPrefix(li.GetEntitlement(), "entitlements/"),
		ProductLineID:          strings.TrimPrefix(li.GetProductLine(), "productLines/"),
		Deployed:               li.GetState() == entitlementpb.LineItemState_LINE_ITEM_STATE_DEPLOYED,
		Obsolete:               li.GetState() == entitlementpb.LineItemState_LINE_ITEM_STATE_OBSOLETE,
		Cancelled:              li.GetCancelled() || li.GetQuantity() == 0,
		Available:              li.GetAvailable(),
		OverdraftAllowed:       li.GetOverdraftAllowed(),
		StartAtFirstActivation: li.GetStartAtFirstActivation(),
		ExpireAfter:            li.GetExpireAfter(),
		Supersedes:             strings.TrimPrefix(li.GetSupersedes(), "lineItems/"),
		SupersededIDs:          li.GetSupersededActivationIds(),
	}
	if li.GetStartTime() != nil {
		t := li.GetStartTime().AsTime()
		out.StartTime = &t
	}
	if li.GetExpireTime() != nil {
		t := li.GetExpireTime().AsTime()
		out.ExpireTime = &t
	}
	return out
}

// Successors maps every line item of the account that an upgrade, upsell or renewal
// superseded to the newest line item of its chain.
func (e Entitlements) Successors(ctx context.Context, accountID string) (map[string]string, error) {
	key := authz.MustTenant(ctx) + "/" + accountID
	if e.chains != nil {
		if m, ok := e.chains.Get(key); ok {
			return m, nil
		}
	}
	out := map[string]string{}
	token := ""
	for {
		r, err := e.Ent.ListLineItems(ctx, &entitlementpb.ListLineItemsRequest{
			PageSize: 1000, PageToken: token, Filter: `account = "accounts/` + accountID + `"`,
		})
		if err != nil {
			return nil, err
		}
		for _, li := range r.GetLineItems() {
			for _, old := range li.GetSupersededActivationIds() {
				out[old] = li.GetActivationId()
			}
		}
		if token = r.GetNextPageToken(); token == "" {
			break
		}
	}
	if e.chains != nil {
		e.chains.Put(key, out)
	}
	return out, nil
}

// MoveSeats moves seats a confirmed reservation holds to another account's line
// item, held afterwards under next; it returns that line item's activation ID.
func (e Entitlements) MoveSeats(ctx context.Context, reservation uuid.UUID, quantity int64, toAccount string, pool bool, next uuid.UUID) (string, error) {
	r, err := e.Ent.MoveSeats(ctx, &entitlementpb.MoveSeatsRequest{
		ReservationId: reservation.String(), Quantity: quantity, ToAccount: "accounts/" + toAccount, Pool: pool, NewReservationId: next.String(),
	})
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(r.GetLineItem(), "lineItems/"), nil
}

// ReleaseSeats gives back what a reservation holds (idempotent).
func (e Entitlements) ReleaseSeats(ctx context.Context, reservation uuid.UUID) error {
	_, err := e.Ent.ReleaseSeats(ctx, &entitlementpb.ReleaseSeatsRequest{ReservationId: reservation.String()})
	return err
}
