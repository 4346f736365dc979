// check.js PAGE OUTDIR: opens PAGE in headless Chromium (Debian's, or
// $CHROMIUM) at 1280 and 390 px wide, and as printed on A4 (794 px, print
// media); saves OUTDIR/shot-WIDTH.png and shot-print.png (the whole page)
// and prints a line per fault found:
//   outside WIDTH SVG-ID TAG: a mark of an inline SVG chart whose box
//     is not inside its svg's box (half a pixel allowed)
//   overflow WIDTH: the page is wider than the window (scrolls sideways)
//   axe WIDTH IMPACT RULE: an axe-core violation, serious or critical
// and at the end "checked N marks in M charts at W px" per width.
// Exits 0 when the page was checked (faults or not), 2 when it could not be.
'use strict';
const path = require('path');
const puppeteer = require('puppeteer-core');
const axe = require('axe-core');

async function main() {
	const [page_path, outdir] = process.argv.slice(2);
	const browser = await puppeteer.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--hide-scrollbars'],
	});
	try {
		// the screen at two widths, and A4 paper (794 CSS px) as printed
		for (const [width, media] of [[1280, 'screen'], [390, 'screen'], [794, 'print']]) {
			const page = await browser.newPage();
			// the page's CSP forbids every script: axe's must come in
			await page.setBypassCSP(true);
			await page.emulateMediaType(media);
			await page.setViewport({ width, height: 900 });
			await page.goto('file://' + path.resolve(page_path), { waitUntil: 'load' });
			await page.screenshot({ path: path.join(outdir, media === 'print' ? 'shot-print.png' :
				`shot-${width}.png`), fullPage: true });
			const res = await page.evaluate(() => {
				const out = [];
				let marks = 0;
				const svgs = document.querySelectorAll('svg');
				for (const svg of svgs) {
					const b = svg.getBoundingClientRect();
					for (const el of svg.querySelectorAll('rect, line, circle, ellipse, text, polyline, polygon, path')) {
						const r = el.getBoundingClientRect();
						marks++;
						if (r.width === 0 && r.height === 0 && r.left === 0 && r.top === 0)
							continue; // not rendered
						if (r.left < b.left - 0.5 || r.top < b.top - 0.5 ||
						    r.right > b.right + 0.5 || r.bottom > b.bottom + 0.5)
							out.push(`outside ${innerWidth} ${svg.id || '-'} ${el.tagName}: ` +
								`${(el.textContent || '').trim().slice(0, 40)} ` +
								`[${r.left.toFixed(1)},${r.top.toFixed(1)} ${r.right.toFixed(1)},${r.bottom.toFixed(1)}]` +
								` in [${b.left.toFixed(1)},${b.top.toFixed(1)} ${b.right.toFixed(1)},${b.bottom.toFixed(1)}]`);
					}
				}
				const de = document.documentElement;
				if (de.scrollWidth > innerWidth)
					out.push(`overflow ${innerWidth}: the page is ${de.scrollWidth} px wide`);
				out.push(`checked ${marks} marks in ${svgs.length} charts at ${innerWidth} px`);
				return out;
			});
			await page.evaluate(axe.source);
			const ax = await page.evaluate(async () => {
				const r = await window.axe.run(document, { resultTypes: ['violations'] });
				return r.violations.map(v => ({ id: v.id, impact: v.impact,
					nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }));
			});
			for (const line of res)
				console.log(line);
			for (const v of ax)
				if (v.impact === 'serious' || v.impact === 'critical')
					console.log(`axe ${width} ${v.impact} ${v.id}: ${v.nodes.join(', ')}`);
				else
					console.log(`# axe ${width} ${v.impact} ${v.id}: ${v.nodes.join(', ')}`);
			await page.close();
		}
	} finally {
		await browser.close();
	}
}

main().catch(e => { console.error(e); process.exit(2); });
