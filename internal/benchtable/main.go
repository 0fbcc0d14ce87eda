// Command benchtable turns `go test -bench` output into the performance table of
// docs/benchmarks.md: one row per benchmark and metric, and for sibling sub-benchmarks
// named as a baseline (direct, coturn, openssl, cameras=1, ...) and a subject, the ratio
// of subject to baseline.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// baselines are the sub-benchmark names that measure the reference path.
var baselines = map[string]bool{"direct": true, "coturn": true, "openssl": true, "baseline": true, "cameras=1": true, "plain": true}

type result struct {
	name    string // full benchmark name without the -N suffix
	metrics map[string]float64
	order   []string
}

func main() {
	var results []result
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		r := result{name: name, metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			r.metrics[f[i+1]] = v
			r.order = append(r.order, f[i+1])
		}
		results = append(results, r)
	}
	byParent := map[string]map[string]result{}
	for _, r := range results {
		parent, sub, ok := strings.Cut(r.name, "/")
		if !ok {
			continue
		}
		if byParent[parent] == nil {
			byParent[parent] = map[string]result{}
		}
		byParent[parent][sub] = r
	}
	fmt.Println("| benchmark | metric | value | baseline | ratio |")
	fmt.Println("|---|---|---|---|---|")
	for _, r := range results {
		parent, sub, _ := strings.Cut(r.name, "/")
		var base *result
		if sub != "" && !baselines[sub] {
			for bname, b := range byParent[parent] {
				if baselines[bname] && sameShape(sub, bname) {
					b := b
					base = &b
					break
				}
			}
		}
		for _, m := range r.order {
			v := r.metrics[m]
			bv, ratio := "", ""
			if base != nil {
				if b, ok := base.metrics[m]; ok && b != 0 {
					bv = fmt.Sprintf("%.4g (%s)", b, strings.TrimPrefix(base.name, parent+"/"))
					ratio = fmt.Sprintf("%.3g", v/b)
				}
			}
			fmt.Printf("| %s | %s | %.4g | %s | %s |\n", r.name, m, v, bv, ratio)
		}
	}
}

// sameShape pairs "link/size=1MiB" with "direct/size=1MiB": a baseline matches a subject
// when everything after their first path element agrees.
func sameShape(sub, base string) bool {
	_, a, _ := strings.Cut(sub, "/")
	_, b, _ := strings.Cut(base, "/")
	return a == b
}
