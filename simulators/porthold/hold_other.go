//go:build !unix

package porthold

import "errors"

// hold is not supported here: ports are left free during a reboot.
func hold(network, addr string) (func(), error) {
	return nil, errors.New("porthold: not supported on this system")
}
