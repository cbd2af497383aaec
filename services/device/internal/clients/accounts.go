package clients

import (
	"context"
	"time"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/neighbours"
	"github.com/tessera-dev/tessera/services/platform/ttlcache"
)

// hiddenTTL is how long a tenant's accounts hidden from partners are reused: a
// change of an account's visibility reaches device reads within it.
const hiddenTTL = 5 * time.Second

// maxHidden bounds how many hidden accounts are read for one tenant.
const maxHidden = 100_000

// Hidden answers which of the tenant's accounts are hidden from partners (SPEC
// ACC-3), from the account service: one search per tenant per hiddenTTL, whoever
// asks, so lists cost no call per device or account.
type Hidden struct {
	Client accountpb.AccountServiceClient
	cache  *ttlcache.Cache[string, map[string]bool]
}

// Names are the account names and visibility device reads need (app.AccountNames).
type Names struct {
	neighbours.Accounts
	Hidden
}

// NewHidden returns the adapter over the account service's client.
func NewHidden(c accountpb.AccountServiceClient) Hidden {
	return Hidden{Client: c, cache: ttlcache.New[string, map[string]bool](hiddenTTL)}
}

// HiddenFromPartners reports which of the request's tenant's accounts are not
// visible to partners.
func (h Hidden) HiddenFromPartners(ctx context.Context) (map[string]bool, error) {
	return h.cache.GetOr(authz.MustTenant(ctx), func() (map[string]bool, error) {
		out := map[string]bool{}
		token := ""
		for len(out) < maxHidden {
			resp, err := h.Client.ListAccounts(ctx, &accountpb.ListAccountsRequest{
				Filter: "visible_to_partners = false", PageSize: 1000, PageToken: token,
			})
			if err != nil {
				return nil, err
			}
			for _, acc := range resp.GetAccounts() {
				out[acc.GetAccountId()] = true
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		return out, nil
	})
}
