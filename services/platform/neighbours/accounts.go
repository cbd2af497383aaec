// Package neighbours holds small adapters over other services' gRPC clients that
// more than one service needs.
package neighbours

import (
	"context"

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
