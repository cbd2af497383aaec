package gateway

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
)

// pagedAccounts lists three pages of accounts; the page after failAfter (if any)
// fails as a service refusing the request would.
func pagedAccounts(failAfter int) exporter {
	return exporter{
		file: "Accounts.csv", item: (&accountpb.Account{}).ProtoReflect().Descriptor(), columns: []string{"name", "display_name"},
		list: func(_ context.Context, _ url.Values, token string) ([]proto.Message, string, error) {
			page := 0
			if token != "" {
				_, _ = fmt.Sscanf(token, "p%d", &page)
			}
			if failAfter >= 0 && page > failAfter {
				return nil, "", status.Error(codes.Unauthenticated, "the session was revoked")
			}
			var out []proto.Message
			for i := range 2 {
				out = append(out, &accountpb.Account{Name: fmt.Sprintf("accounts/A%d-%d", page, i), DisplayName: "x"})
			}
			next := ""
			if page < 2 {
				next = fmt.Sprintf("p%d", page+1)
			}
			return out, next, nil
		},
	}
}

// PLT-3: an export whose second page fails answers with the error, not a 200 with
// a cut file; one whose pages all succeed has every row once.
func TestExportFailingMidwayIsNotCut_PLT3(t *testing.T) {
	g := &Gateway{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	req := httptest.NewRequest(http.MethodGet, "/v1/accounts:export", nil)

	whole := httptest.NewRecorder()
	g.serveExport(whole, req, "accounts", pagedAccounts(-1))
	require.Equal(t, http.StatusOK, whole.Code)
	rows, err := csv.NewReader(strings.NewReader(whole.Body.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+6, "header and two rows of each of three pages")
	require.Equal(t, fmt.Sprint(whole.Body.Len()), whole.Header().Get("Content-Length"))

	cut := httptest.NewRecorder()
	g.serveExport(cut, req, "accounts", pagedAccounts(0))
	require.Equal(t, http.StatusUnauthorized, cut.Code, "the failing page's error, not 200: %s", cut.Body)
	require.NotContains(t, cut.Header().Get("Content-Type"), "text/csv")
	require.Empty(t, cut.Header().Get("Content-Disposition"))
	require.NotContains(t, cut.Body.String(), "accounts/A0-0", "no part of the file is sent")
	require.Contains(t, cut.Body.String(), "revoked")
}
