package vtab

import (
	"database/sql/driver"
	"fmt"

	"modernc.org/sqlite"
)

// registerFunctions adds netsql's SQL functions to an engine's driver.
func registerFunctions(drv *sqlite.Driver, src *Source) error {
	err := drv.RegisterDeterministicScalarFunction("user_name", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch x := args[0].(type) {
		case nil:
			return nil, nil
		case int64:
			if x < 0 || x > 1<<32-1 {
				return nil, fmt.Errorf("user_name: uid %d out of range", x)
			}
			return src.UserName(uint32(x)), nil
		}
		return nil, fmt.Errorf("user_name: want an integer uid, got %T", args[0])
	})
	if err != nil {
		return fmt.Errorf("vtab: register user_name: %w", err)
	}
	return nil
}
