export interface Series { name: string; colour: string; points: Array<[number, number | null]> }

export interface ChartOptions {
  title: string;
  yLabel: string;
  /** Shaded on the x axis: the burst. */
  band?: [number, number];
  /** Stretches of the x axis, each labelled, shaded in turn (the phases of a run). */
  bands?: Band[];
  /** A dashed horizontal line across the plot, e.g. a target. */
  reference?: { y: number; label: string };
  logarithmic?: boolean;
}

export interface Band { from: number; to: number; label: string }

const width = 760;
const height = 320;
const margin = { left: 64, right: 16, top: 36, bottom: 44 };

/** A line chart of several series over one x axis, as a standalone SVG document. A null value breaks its line (a dead process). */
export function lineChart(series: Series[], options: ChartOptions): string {
  const values = series.flatMap((line) => line.points.map(([, y]) => y)).concat(options.reference ? [options.reference.y] : [])
    .filter((y): y is number => y !== null && (!options.logarithmic || y > 0));
  const xs = series.flatMap((line) => line.points.map(([x]) => x));
  const xMax = Math.max(1, ...xs);
  const yMin = options.logarithmic ? Math.max(1, 10 ** Math.floor(Math.log10(Math.min(...values, 10)))) : 0;
  const yMax = options.logarithmic ? 10 ** Math.ceil(Math.log10(Math.max(...values, 10))) : niceCeiling(Math.max(...values, 1));
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const x = (value: number) => margin.left + (value / xMax) * plotWidth;
  const y = (value: number) => {
    const share = options.logarithmic ? (Math.log10(value) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)) : value / yMax;
    return margin.top + plotHeight * (1 - Math.min(Math.max(share, 0), 1));
  };
  const ticks = options.logarithmic
    ? Array.from({ length: Math.round(Math.log10(yMax / yMin)) + 1 }, (_, i) => yMin * 10 ** i)
    : Array.from({ length: 5 }, (_, i) => (yMax / 4) * i);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="20" font-size="14" font-weight="bold">${escape(options.title)}</text>`,
  ];
  const bands = [...(options.band ? [{ from: options.band[0], to: options.band[1], label: 'burst' }] : []), ...(options.bands ?? [])];
  bands.forEach((band, index) => {
    const fill = options.bands && bands.length > 1 ? (index % 2 === 0 ? '#f2f2f2' : '#e8e8e8') : '#f2f2f2';
    parts.push(`<rect x="${x(band.from)}" y="${margin.top}" width="${x(band.to) - x(band.from)}" height="${plotHeight}" fill="${fill}"/>`);
    parts.push(`<text x="${(x(band.from) + x(band.to)) / 2}" y="${margin.top + 14 + (index % 2) * 14}" text-anchor="middle" fill="#777">${escape(band.label)}</text>`);
  });
  for (const tick of ticks) {
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y(tick) + 4}" text-anchor="end" fill="#555">${formatTick(tick)}</text>`);
  }
  if (options.reference) {
    const referenceY = y(options.reference.y);
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${referenceY}" y2="${referenceY}" stroke="#555" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${margin.left + 4}" y="${referenceY - 4}" fill="#555">${escape(options.reference.label)}</text>`);
  }
  for (let second = 0; second <= xMax; second += xMax > 240 ? 60 : xMax > 120 ? 30 : 15) {
    parts.push(`<text x="${x(second)}" y="${height - margin.bottom + 16}" text-anchor="middle" fill="#555">${second}</text>`);
  }
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 8}" text-anchor="middle" fill="#555">seconds since the load started</text>`);
  parts.push(`<text transform="translate(14 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" fill="#555">${escape(options.yLabel)}</text>`);
  for (const line of series) {
    for (const run of runsOf(line.points, options.logarithmic ?? false)) {
      parts.push(`<polyline fill="none" stroke="${line.colour}" stroke-width="2" points="${run.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ')}"/>`);
    }
  }
  // The legend on a white ground, over whatever it covers.
  const legendX = width - margin.right - 130;
  parts.push(`<rect x="${legendX - 6}" y="${margin.top + 1}" width="134" height="${series.length * 16 + 6}" fill="white" fill-opacity="0.85"/>`);
  series.forEach((line, index) => {
    const legendY = margin.top + 12 + index * 16;
    parts.push(`<line x1="${legendX}" x2="${legendX + 18}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${line.colour}" stroke-width="3"/>`);
    parts.push(`<text x="${legendX + 24}" y="${legendY}">${escape(line.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** The unbroken stretches of a series (a null, or a value a log axis cannot show, breaks it). */
function runsOf(points: Array<[number, number | null]>, logarithmic: boolean): Array<Array<[number, number]>> {
  const runs: Array<Array<[number, number]>> = [[]];
  for (const [px, py] of points) {
    if (py === null || (logarithmic && py <= 0)) { if (runs.at(-1)!.length > 0) runs.push([]); continue; }
    runs.at(-1)!.push([px, py]);
  }
  return runs.filter((run) => run.length > 0);
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((step) => step * magnitude).find((candidate) => candidate >= value)!;
}

function formatTick(value: number): string {
  if (value >= 1_000_000) return `${value / 1_000_000}M`;
  if (value >= 1_000) return `${value / 1_000}k`;
  return String(Math.round(value * 100) / 100);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
