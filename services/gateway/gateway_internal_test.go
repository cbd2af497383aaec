package gateway

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
)

func TestAuthCache(t *testing.T) {
	c := newAuthCache(5 * time.Second)
	now := time.Now()
	alice := &commonpb.Principal{TenantId: "t", UserId: "alice", TokenId: "tok-a"}
	imp := &commonpb.Principal{TenantId: "t", UserId: "bob", TokenId: "tok-b", Impersonated: true, ImpersonatorId: "alice"}
	c.put("rna_a", alice, "signed-a", now.Add(time.Hour), now)
	c.put("rna_b", imp, "signed-b", now.Add(time.Hour), now)
	c.put("rna_short", alice, "signed-s", now.Add(time.Second), now)

	e, ok := c.get("rna_a", now.Add(4*time.Second))
	require.True(t, ok)
	require.Equal(t, "alice", e.principal.GetUserId())
	require.Equal(t, "signed-a", e.signed)
	_, ok = c.get("rna_a", now.Add(5*time.Second))
	require.False(t, ok, "no entry outlives the TTL")
	_, ok = c.get("rna_short", now.Add(time.Second))
	require.False(t, ok, "no entry outlives its token")

	c.put("rna_a", alice, "signed-a", now.Add(time.Hour), now)
	c.evict("other-tenant", "", "alice")
	_, ok = c.get("rna_a", now)
	require.True(t, ok, "evictions are per tenant")
	c.evict("t", "", "alice")
	_, ok = c.get("rna_a", now)
	require.False(t, ok)
	_, ok = c.get("rna_b", now)
	require.False(t, ok, "revoking a user also drops the tokens they impersonate through")

	off := newAuthCache(0)
	off.put("rna_a", alice, "x", now.Add(time.Hour), now)
	_, ok = off.get("rna_a", now)
	require.False(t, ok)
}

func TestLimiter(t *testing.T) {
	l := newLimiter(3, time.Minute)
	now := time.Now()
	for range 3 {
		ok, _ := l.allow("k", now)
		require.True(t, ok)
	}
	ok, wait := l.allow("k", now)
	require.False(t, ok)
	require.InDelta(t, 20*time.Second, wait, float64(time.Second), "one event every 20 s refills")
	ok, _ = l.allow("other", now)
	require.True(t, ok, "keys are independent")
	ok, _ = l.allow("k", now.Add(21*time.Second))
	require.True(t, ok)
	var none *limiter
	ok, _ = none.allow("k", now)
	require.True(t, ok, "a zero rate means no limit")
	require.Nil(t, newLimiter(0, time.Second))
}

// Every export's chosen columns name fields of its item, the first one its name.
func TestExportColumnsExist(t *testing.T) {
	g := &Gateway{conns: map[string]*grpc.ClientConn{}}
	for name, ex := range g.exporters() {
		for _, fd := range ex.fields() {
			if fd == nil {
				t.Fatalf("%s: a column names no field of %s", name, ex.item.FullName())
			}
		}
		if ex.columns != nil && ex.columns[0] != "name" {
			t.Fatalf("%s: the first column must be the name (selection by names=)", name)
		}
	}
}
