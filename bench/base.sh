# bench/base.sh - what the benchmarks share, sourced after they set W (their
# work directory), IMPORT, GEN, NO, NC, SEED and DATA and defined die():
#
#   timed NAME CMD...  runs CMD with stdout/stderr in $W/NAME.out/.err;
#                      sets $secs, $kb (peak RSS) and $rc
#   mib KB             KiB to MiB
#   bench_base         sets $db: the bench base of bench/gen's orders
#                      ($NO orders of $NC customers), loaded by sqlite3
#                      into a crmkit database in $DATA/score/ and reused
#                      while the orders file is unchanged

# timed NAME CMD...: stdout/stderr to $W/NAME.out/.err; sets $secs, $kb, $rc
if /usr/bin/time -f '%e %M' -o /dev/null true 2>/dev/null; then
	timed() {
		_n=$1
		shift
		/usr/bin/time -f '%e %M' -o "$W/$_n.time" "$@" >"$W/$_n.out" 2>"$W/$_n.err"
		rc=$?
		read -r secs kb <"$W/$_n.time"
	}
else
	timed() {
		_n=$1
		shift
		_t0=$(date +%s.%N)
		"$@" >"$W/$_n.out" 2>"$W/$_n.err"
		rc=$?
		secs=$(echo "$_t0 $(date +%s.%N)" | awk '{ printf "%.2f", $2 - $1 }')
		kb=n/a
	}
fi

mib() { case $1 in n/a) echo n/a ;; *) awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }' ;; esac; }

bench_base() {
	db=$DATA/score/bench-$NO-$NC-s$SEED.db
	orders=$DATA/orders-$NO-$NC-s$SEED.csv
	mkdir -p "$DATA/score" || die "cannot create $DATA/score"
	if [ ! -s "$orders" ]; then
		[ -x "$GEN" ] || die "$GEN missing (make $BUILD/bench/gen)"
		"$GEN" orders "$NO" "$NC" --seed "$SEED" >"$orders.tmp" && mv "$orders.tmp" "$orders" ||
			die "cannot generate $orders"
	fi
	if [ ! -s "$db" ] || [ "$orders" -nt "$db" ]; then
		# crm-import of 5M orders is bench/run.sh's business and takes
		# many minutes; here the file goes in by SQL: crmkit's schema
		# (made by crm-import of an empty file), stub customers, amounts
		# to minor units, statuses as crm-import spells them
		rm -f "$db" "$db-wal" "$db-shm"
		printf 'customer_id,ordered_at,amount,currency\n' >"$DATA/score/empty.csv"
		"$IMPORT" --db "$db" -q orders "$DATA/score/empty.csv" || die "cannot create $db"
		command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 (the CLI) is needed to load $orders"
		timed load sqlite3 "$db" <<-EOF
		PRAGMA journal_mode = WAL;
		PRAGMA synchronous = NORMAL;
		PRAGMA cache_size = -262144;
		CREATE TEMP TABLE o (order_id, customer_id, ordered_at, amount, currency, status);
		.mode csv
		.import --skip 1 $orders o
		BEGIN;
		INSERT INTO customers (external_id, updated_at, is_stub)
			SELECT DISTINCT customer_id, '2026-11-01 00:00:00', 1 FROM o;
		INSERT INTO orders (external_id, customer_id, ordered_at, amount, currency, status)
			SELECT o.order_id, c.id, o.ordered_at,
			       CAST(round(CAST(replace(replace(o.amount, ' ', ''), ',', '.') AS REAL) * 100) AS INTEGER),
			       o.currency,
			       CASE lower(o.status) WHEN 'canceled' THEN 'cancelled' WHEN '' THEN 'completed'
			       ELSE lower(o.status) END
			FROM o JOIN customers c ON c.external_id = o.customer_id;
		COMMIT;
		EOF
		[ "$rc" -eq 0 ] || die "cannot load $orders (see $W/load.err)"
		printf '%-34s %10s %9s %9s %9s\n' "(sqlite3: load the orders, setup)" \
			"$(sqlite3 "$db" 'SELECT count(*) FROM orders')" "$secs" "" "$(mib "$kb")"
	fi
}
