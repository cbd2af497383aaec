package gateway

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

func TestBadURL(t *testing.T) {
	tests := []struct {
		target string
		fields []string // refused fields; none means the URL passes
	}{
		{"/v1/products/cad?filter=display_name%3D%22CAD%20Pro%22&order_by=display_name%20desc", nil},
		{"/v1/products/%E6%97%A5%E6%9C%AC", nil},                  // non-ASCII text is fine
		{"/v1/products?filter=" + strings.Repeat("x", 5000), nil}, // lengths are the services' to bound
		{"/v1/accounts/A%00B", []string{"path"}},
		{"/v1/accounts/%1B", []string{"path"}},
		{"/v1/accounts/%C2%85", []string{"path"}}, // C1 control
		{"/v1/accounts/%FF", []string{"path"}},    // invalid UTF-8
		{"/v1/accounts/a%0Ab", []string{"path"}},
		{"/v1/products?filter=%00", []string{"filter"}},
		{"/v1/products?filter=ok&order_by=%07", []string{"order_by"}},
		{"/v1/products?filter=ok&filter=%FF", []string{"filter"}},
		{"/v1/accounts:export?%00=1", []string{"query"}},
		{"/v1/accounts:export?names=%zz", []string{"query"}},
		{"/v1/%00?filter=%1B", []string{"path", "filter"}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			err := badURL(httptest.NewRequest("GET", tt.target, nil))
			if tt.fields == nil {
				require.NoError(t, err)
				return
			}
			e, ok := errs.As(err)
			require.True(t, ok)
			var got []string
			for _, v := range e.Violations {
				got = append(got, v.Field)
			}
			assert.Equal(t, tt.fields, got)
		})
	}
}
