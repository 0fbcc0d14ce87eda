//go:build race

package edgelink

const raceEnabled = true
