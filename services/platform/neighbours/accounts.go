// Package neighbours holds small adapters over other services' gRPC clients that
// more than one service needs.
package neighbours

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
)

// Accounts answers "does this account exist" from the account service.
type Accounts struct {
	Client accountpb.AccountServiceClient
}

// AccountExists reports whether the request's tenant has the account.
func (a Accounts) AccountExists(ctx context.Context, accountID string) (bool, error) {
	_, err := a.Client.GetAccount(ctx, &accountpb.GetAccountRequest{Name: "accounts/" + accountID})
	if status.Code(err) == codes.NotFound {
		return false, nil
	}
	return err == nil, err
}

// Names returns the display names of the accounts (those the caller may see), by ID.
func (a Accounts) Names(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for start := 0; start < len(ids); start += 1000 {
		batch := ids[start:min(start+1000, len(ids))]
		req := &accountpb.BatchGetAccountsRequest{Names: make([]string, len(batch))}
		for i, id := range batch {
			req.Names[i] = "accounts/" + id
		}
		resp, err := a.Client.BatchGetAccounts(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, acc := range resp.GetAccounts() {
			out[acc.GetAccountId()] = acc.GetDisplayName()
		}
	}
	return out, nil
}

// maxNameMatches bounds how many accounts a name search may name.
const maxNameMatches = 5000

// NamedLike returns the IDs of accounts whose display name matches pattern ("*" is
// a wildcard, as in the account service's filter), at most maxNameMatches.
func (a Accounts) NamedLike(ctx context.Context, pattern string) ([]string, error) {
	filter := `display_name = "` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(pattern) + `"`
	var out []string
	token := ""
	for len(out) < maxNameMatches {
		resp, err := a.Client.ListAccounts(ctx, &accountpb.ListAccountsRequest{Filter: filter, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, acc := range resp.GetAccounts() {
			out = append(out, acc.GetAccountId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	return out, nil
}
