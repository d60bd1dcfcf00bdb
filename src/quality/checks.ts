/**
 * The SQL of the validate.ohlcv checks: one named function per check, each returning a SELECT of
 * findings `(source, symbol, date, message)` over a relation of bars.
 *
 * The relation (`rel`) has the bars_daily columns plus `in_range BOOLEAN`: the rows to check are
 * those with `in_range`; rows without it are earlier history of the same symbols, which the checks
 * that look back (stale_price, price_jump) use as context. Findings are only ever dated in range.
 * Identifiers passed in are trusted (the caller's temp table names); values are numbers.
 */

/** SQL text of a DOUBLE for a message: `NULL` for null. */
function shown(expr: string): string {
  return `coalesce(CAST(${expr} AS VARCHAR), 'NULL')`;
}

/** A finding row for each checked row with a null open, high, low, close or volume. */
export function nullsSql(rel: string): string {
  return `SELECT source, symbol, date,
    'null ' || concat_ws(', ',
      CASE WHEN open IS NULL THEN 'open' END, CASE WHEN high IS NULL THEN 'high' END,
      CASE WHEN low IS NULL THEN 'low' END, CASE WHEN close IS NULL THEN 'close' END,
      CASE WHEN volume IS NULL THEN 'volume' END) AS message
  FROM ${rel}
  WHERE in_range AND (open IS NULL OR high IS NULL OR low IS NULL OR close IS NULL OR volume IS NULL)`;
}

/**
 * Rows where not low <= open, close <= high (and low <= high). A null price leaves the comparisons
 * it is in unknown: such rows are nulls findings, and only a comparison that is known false counts.
 */
export function ohlcConsistencySql(rel: string): string {
  return `SELECT source, symbol, date,
    'OHLC inconsistent (' || concat_ws(', ',
      CASE WHEN low > high THEN 'low > high' END, CASE WHEN open > high THEN 'open > high' END,
      CASE WHEN open < low THEN 'open < low' END, CASE WHEN close > high THEN 'close > high' END,
      CASE WHEN close < low THEN 'close < low' END) || '): open ' || ${shown("open")} || ', high '
      || ${shown("high")} || ', low ' || ${shown("low")} || ', close ' || ${shown("close")} AS message
  FROM ${rel}
  WHERE in_range AND (low > high OR open > high OR open < low OR close > high OR close < low)`;
}

/** Rows with a price (open, high, low or close) <= 0. */
export function nonPositivePriceSql(rel: string): string {
  return `SELECT source, symbol, date,
    'price <= 0: ' || concat_ws(', ',
      CASE WHEN open <= 0 THEN 'open ' || open END, CASE WHEN high <= 0 THEN 'high ' || high END,
      CASE WHEN low <= 0 THEN 'low ' || low END, CASE WHEN close <= 0 THEN 'close ' || close END) AS message
  FROM ${rel}
  WHERE in_range AND (open <= 0 OR high <= 0 OR low <= 0 OR close <= 0)`;
}

/** Rows with a volume < 0. */
export function negativeVolumeSql(rel: string): string {
  return `SELECT source, symbol, date, 'volume < 0: ' || volume AS message
  FROM ${rel}
  WHERE in_range AND volume < 0`;
}

/**
 * More than one checked row per (source, symbol, date), the symbol compared without surrounding
 * whitespace. On bars_daily the primary key rules out exact repeats, so there this fires for
 * spellings such as `AAPL` and `AAPL ` that are the same ticker; over a relation without the key (a
 * staging table, a view over files) it also finds exact repeats. One finding per key, named by the
 * trimmed symbol.
 */
export function duplicatesSql(rel: string): string {
  // Keys first (a plain count), the message's DISTINCT and ordered aggregates only for those.
  return `WITH keyed AS (
    SELECT source, trim(symbol) AS key, date, symbol, close FROM ${rel} WHERE in_range
  ), repeated AS (
    SELECT source, key, date FROM keyed GROUP BY source, key, date HAVING count(*) > 1
  )
  SELECT k.source, k.key AS symbol, k.date,
    count(*) || ' rows for one (source, symbol, date)'
      || CASE WHEN count(DISTINCT k.symbol) > 1
           THEN ' (symbol spelled ' || string_agg(DISTINCT '"' || k.symbol || '"', ', ' ORDER BY '"' || k.symbol || '"') || ')'
           ELSE '' END
      || ': closes ' || string_agg(${shown("k.close")}, ', ' ORDER BY k.close) AS message
  FROM keyed k SEMI JOIN repeated r ON r.source = k.source AND r.key = k.key AND r.date = k.date
  GROUP BY k.source, k.key, k.date`;
}

/**
 * NYSE sessions without a bar between a symbol's first and last checked bar. `sessions` is a table
 * `(date DATE)` of every session over the checked dates (from the calendar module), so holidays
 * and special closures are no gaps, and early closes are sessions like any other.
 */
export function missingSessionsSql(rel: string, sessions: string): string {
  return `WITH spans AS (
    SELECT source, symbol, min(date) AS first_date, max(date) AS last_date
    FROM ${rel} WHERE in_range GROUP BY source, symbol
  ), expected AS (
    SELECT spans.source, spans.symbol, s.date, spans.first_date, spans.last_date
    FROM spans JOIN ${sessions} s ON s.date > spans.first_date AND s.date < spans.last_date
  )
  SELECT e.source, e.symbol, e.date,
    'no bar for NYSE session ' || CAST(e.date AS VARCHAR) || ' (bars from ' || CAST(e.first_date AS VARCHAR)
      || ' to ' || CAST(e.last_date AS VARCHAR) || ')' AS message
  FROM expected e
  ANTI JOIN ${rel} b ON b.source = e.source AND b.symbol = e.symbol AND b.date = e.date`;
}

/**
 * Runs of at least `sessions` consecutive bars of a symbol with the same (non-null) close: one
 * finding per run, dated at its last bar. A run may begin before the checked range (history rows
 * count); it is reported when its last bar is checked.
 */
export function stalePriceSql(rel: string, sessions: number): string {
  return `WITH marked AS (
    SELECT source, symbol, date, close, in_range,
      CASE WHEN close IS NOT DISTINCT FROM lag(close) OVER w THEN 0 ELSE 1 END AS starts_run
    FROM ${rel}
    WINDOW w AS (PARTITION BY source, symbol ORDER BY date)
  ), numbered AS (
    SELECT *, sum(starts_run) OVER (PARTITION BY source, symbol ORDER BY date ROWS UNBOUNDED PRECEDING) AS run
    FROM marked
  ), runs AS (
    SELECT source, symbol, run, any_value(close) AS close, count(*) AS bars, min(date) AS first_date,
      max(date) AS last_date, arg_max(in_range, date) AS ends_in_range
    FROM numbered
    GROUP BY source, symbol, run
  )
  SELECT source, symbol, last_date AS date,
    'close ' || close || ' unchanged for ' || bars || ' sessions, ' || CAST(first_date AS VARCHAR) || ' to '
      || CAST(last_date AS VARCHAR) || ' (stale_sessions ${sessions})' AS message
  FROM runs
  WHERE close IS NOT NULL AND bars >= ${sessions} AND ends_in_range`;
}

/**
 * Close-to-close moves beyond `maxJumpPct` percent against the symbol's previous bar (which may be
 * before the checked range). A move is explained, and no finding, when `actions` (corporate_actions)
 * holds a split for the symbol on that date, from any source, whose ratio r brings the move within
 * the limit either way: close * r / prev (bars not split-adjusted: a 4:1 split quarters the price)
 * or close / (r * prev) (a ratio stored inverted). Bars already split-adjusted show no jump at all.
 * A null or non-positive close on either side is no finding here (the nulls and non_positive_price
 * checks report it).
 */
export function priceJumpSql(rel: string, maxJumpPct: number, actions: string): string {
  const limit = maxJumpPct / 100;
  return `WITH moves AS (
    SELECT source, symbol, date, in_range, close,
      lag(close) OVER (PARTITION BY source, symbol ORDER BY date) AS prev_close,
      lag(date) OVER (PARTITION BY source, symbol ORDER BY date) AS prev_date
    FROM ${rel}
  ), jumps AS (
    SELECT * FROM moves
    WHERE in_range AND close > 0 AND prev_close > 0 AND abs(close / prev_close - 1) > ${limit}
  ), splits AS (
    SELECT symbol, date, value FROM ${actions} WHERE kind = 'split' AND value > 0
  )
  SELECT j.source, j.symbol, j.date,
    'close ' || j.close || ' vs ' || j.prev_close || ' on ' || CAST(j.prev_date AS VARCHAR) || ': '
      || CASE WHEN j.close >= j.prev_close THEN '+' ELSE '' END || round((j.close / j.prev_close - 1) * 100, 2)
      || '% (max_jump_pct ${maxJumpPct})'
      || coalesce(' not explained by the split (' || (SELECT string_agg(DISTINCT CAST(s.value AS VARCHAR), ', ')
           FROM splits s WHERE s.symbol = j.symbol AND s.date = j.date) || ') that day', '') AS message
  FROM jumps j
  WHERE NOT EXISTS (
    SELECT 1 FROM splits s
    WHERE s.symbol = j.symbol AND s.date = j.date
      AND (abs(j.close * s.value / j.prev_close - 1) <= ${limit} OR abs(j.close / (s.value * j.prev_close) - 1) <= ${limit})
  )`;
}

/**
 * Checked closes that differ from `other`'s close for the same symbol and date (a relation of the
 * compare_with source's bars) by more than `toleranceBps` basis points of the other's close. Dates
 * only one of them has are no finding.
 */
export function crossSourceSql(
  rel: string,
  other: string,
  otherSource: string,
  toleranceBps: number,
): string {
  return `SELECT b.source, b.symbol, b.date,
    'close ' || b.close || ' vs ' || o.close || ' in ' || ${quoteString(otherSource)} || ': '
      || round(abs(b.close / o.close - 1) * 10000, 1) || ' bps (tolerance_bps ${toleranceBps})' AS message
  FROM ${rel} b JOIN ${other} o ON o.symbol = b.symbol AND o.date = b.date
  WHERE b.in_range AND b.close IS NOT NULL AND o.close > 0
    AND abs(b.close / o.close - 1) * 10000 > ${toleranceBps}`;
}

/** A SQL string literal: single quotes doubled. */
export function quoteString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
