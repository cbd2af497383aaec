package clients

import (
	"context"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
)

// Accounts answers whether an account exists from the account service, which owns
// accounts.
type Accounts struct {
	Acc accountpb.AccountServiceClient
}

// AccountExists returns nil for an account of the request's tenant, NotFound else.
func (a Accounts) AccountExists(ctx context.Context, accountID string) error {
	_, err := a.Acc.GetAccount(ctx, &accountpb.GetAccountRequest{Name: "accounts/" + accountID})
	return err
}
