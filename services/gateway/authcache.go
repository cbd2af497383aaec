package gateway

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/events"
)

// authCache remembers resolved bearer tokens for a few seconds, keyed by the
// token's hash, so that most requests need no call to the account service.
// Revocations reach it three ways: deleting or rotating a token through this
// gateway evicts it at once; token.revoked events evict it on every gateway within
// moments; and no entry outlives its TTL, even if events are lost.
type authCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[[32]byte]cached
}

// cached is a resolved token: its principal and that principal signed once, so a
// cache hit costs neither a signature here nor a verification in the services
// (their verifiers remember signed principals they have seen).
type cached struct {
	principal *commonpb.Principal
	signed    string
	until     time.Time
}

// maxCached bounds the cache; it starts afresh when full.
const maxCached = 100_000

func newAuthCache(ttl time.Duration) *authCache {
	return &authCache{ttl: ttl, entries: map[[32]byte]cached{}}
}

func (c *authCache) get(token string, now time.Time) (cached, bool) {
	if c.ttl <= 0 {
		return cached{}, false
	}
	key := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.until) {
		delete(c.entries, key)
		return cached{}, false
	}
	return e, true
}

// put caches p (and its signed form) until the TTL ends or the token expires,
// whichever comes first. The TTL is far below a signed principal's lifetime.
func (c *authCache) put(token string, p *commonpb.Principal, signed string, tokenExpiry, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	until := now.Add(c.ttl)
	if !tokenExpiry.IsZero() && tokenExpiry.Before(until) {
		until = tokenExpiry
	}
	key := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCached {
		c.entries = map[[32]byte]cached{}
	}
	c.entries[key] = cached{principal: p, signed: signed, until: until}
}

// evict drops entries of a token, or of every token of a user when tokenID is empty.
func (c *authCache) evict(tenantID, tokenID, userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		p := e.principal
		if p.GetTenantId() != tenantID {
			continue
		}
		if (tokenID != "" && p.GetTokenId() == tokenID) || (tokenID == "" && (p.GetUserId() == userID || p.GetImpersonatorId() == userID)) {
			delete(c.entries, k)
		}
	}
}

// evictTenant drops every entry of a tenant: its account tree changed, so the
// account scopes resolved for its users may have.
func (c *authCache) evictTenant(tenantID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.principal.GetTenantId() == tenantID {
			delete(c.entries, k)
		}
	}
}

func (c *authCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = map[[32]byte]cached{}
}

// follow applies token.revoked events (and account-tree changes, which change
// scopes) until ctx ends. It reads only new events,
// and clears the whole cache whenever it (re)starts, since it may have missed some.
func (c *authCache) follow(ctx context.Context, js jetstream.JetStream, log *slog.Logger) {
	for ctx.Err() == nil {
		c.clear()
		cons, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{
				events.Subject("account", "token", "revoked"), events.Subject("account", "account", "linked"),
				events.Subject("account", "account", "unlinked"), events.Subject("account", "account", "deleted"),
			},
			DeliverPolicy: jetstream.DeliverNewPolicy,
		})
		if err != nil {
			log.Warn("gateway: cannot follow token revocations; cache entries expire by TTL", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
				continue
			}
		}
		revoked := events.Subject("account", "token", "revoked")
		cc, err := cons.Consume(func(m jetstream.Msg) {
			tenant := m.Headers().Get(events.HeaderTenant)
			if m.Subject() != revoked {
				c.evictTenant(tenant)
				return
			}
			var ev eventspb.TokenRevoked
			if proto.Unmarshal(m.Data(), &ev) == nil {
				c.evict(tenant, ev.GetTokenId(), ev.GetUserId())
			}
		})
		if err != nil {
			continue
		}
		<-ctx.Done()
		cc.Stop()
	}
}
