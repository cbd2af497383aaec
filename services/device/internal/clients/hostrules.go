// Package clients adapts neighbour services' gRPC clients to the interfaces the
// device use cases declare.
package clients

import (
	"context"
	"time"

	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/ttlcache"
)

// settingsTTL is how long a tenant's host ID rules are reused: a change of the
// setting reaches device checks within it.
const settingsTTL = 30 * time.Second

// HostRules answers a tenant's host ID rules from the license service, which owns
// them (relaxed IP validation, SPEC LIC-3).
type HostRules struct {
	License licensepb.LicenseServiceClient
	relaxIP *ttlcache.Cache[string, bool]
}

// NewHostRules returns the adapter over the license service's client.
func NewHostRules(c licensepb.LicenseServiceClient) HostRules {
	return HostRules{License: c, relaxIP: ttlcache.New[string, bool](settingsTTL)}
}

// RelaxIP reports whether the request's tenant relaxed IP host ID validation.
func (h HostRules) RelaxIP(ctx context.Context) (bool, error) {
	return h.relaxIP.GetOr(authz.MustTenant(ctx), func() (bool, error) {
		s, err := h.License.GetLicenseSettings(ctx, &licensepb.GetLicenseSettingsRequest{})
		return s.GetRelaxIpValidation(), err
	})
}
