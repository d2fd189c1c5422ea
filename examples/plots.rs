//! The teaching figures: `J(x) = x³ + x² − 6x + 1`, its derivative from `j_grad`, the error of
//! finite differences against the exact derivative, and the gradient-descent path, drawn into
//! PNG files with `plotters`.
//!
//! Run with `cargo run --release --example plots [OUT_DIR]`; the figures go to `OUT_DIR`, by
//! default `docs/figures/` in this repository.
//!
//! Everything is pure Rust: plotters' bitmap backend draws the pixels, the `png` crate
//! encodes the PNGs, and `ab_glyph` renders the text with DejaVu Sans, shipped in
//! `docs/fonts/` (see the README there), so no system font, fontconfig or freetype is used.
//! The output depends on nothing but this file and the font: rerunning it writes the same
//! bytes.

use std::error::Error;
use std::path::{Path, PathBuf};

use differentiate::differentiate;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// The function of the README's quick start. `#[differentiate]` generates, beside it,
/// `j_grad(x) -> (J(x), J'(x))`.
#[differentiate]
fn j(x: f64) -> f64 {
    x.powi(3) + x.powi(2) - 6.0 * x + 1.0
}

/// `J'(x) = 3x² + 2x − 6`, derived by hand: the reference every error below is measured
/// against.
fn j_prime_by_hand(x: f64) -> f64 {
    3.0 * x * x + 2.0 * x - 6.0
}

/// `(J(x + dx) − J(x)) / dx`. For this cubic its error is exactly `(3x + 1)·dx + dx²` before
/// rounding: first order in `dx`.
fn forward_difference(x: f64, dx: f64) -> f64 {
    (j(x + dx) - j(x)) / dx
}

/// `(J(x + dx) − J(x − dx)) / (2·dx)`. For this cubic its error is exactly `dx²` before
/// rounding: second order in `dx`.
fn central_difference(x: f64, dx: f64) -> f64 {
    (j(x + dx) - j(x - dx)) / (2.0 * dx)
}

/// The figures' size in pixels.
const SIZE: (u32, u32) = (640, 480);
/// The interval of figures 1 and 2.
const X_MIN: f64 = -3.0;
const X_MAX: f64 = 3.0;
/// Points per curve on `[X_MIN, X_MAX]`: a step of 0.01.
const POINTS: usize = 601;

/// The gradient descent of `examples/gradient_descent.rs` and of the teaching material.
const START: f64 = 3.0;
const STEP: f64 = 0.1;
const STEPS: usize = 20;
/// Where its 20 steps end: the local minimum `(−1 + √19) / 3` of `J`, to the last bit.
const EXPECTED_FINAL_X: f64 = 1.1196329811802246;

/// Where figure 3 compares the derivatives: `J'(2) = 10`.
const X_COMPARE: f64 = 2.0;
/// An error of exactly zero has no place on a log scale; it is drawn at this value.
const ZERO_ERROR_FLOOR: f64 = 1e-17;

// Colours (the usual "tab10" palette), one per kind of derivative in every figure.
const AD_COLOUR: RGBColor = RGBColor(31, 119, 180); // blue
const FORWARD_COLOUR: RGBColor = RGBColor(214, 39, 40); // red
const FORWARD_FINE_COLOUR: RGBColor = RGBColor(255, 127, 14); // orange
const CENTRAL_COLOUR: RGBColor = RGBColor(44, 160, 44); // green
const CURVE_COLOUR: RGBColor = RGBColor(60, 60, 60); // dark grey

const FONT: &str = "sans-serif";
const CAPTION_SIZE: u32 = 20;
const LABEL_SIZE: u32 = 15;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    // plotters' `ab_glyph` backend knows no font until one is registered; "sans-serif" is the
    // family plotters asks for by default.
    register_font(
        FONT,
        FontStyle::Normal,
        include_bytes!("../docs/fonts/DejaVuSans.ttf"),
    )
    .map_err(|_| "docs/fonts/DejaVuSans.ttf is not a font ab_glyph can read")?;

    let out_dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/figures"),
    };
    std::fs::create_dir_all(&out_dir)?;

    let xs: Vec<f64> = (0..POINTS)
        .map(|i| X_MIN + (X_MAX - X_MIN) * i as f64 / (POINTS - 1) as f64)
        .collect();

    let figures = [
        ("function_and_derivative.png", figure_function as Figure),
        ("finite_difference_error.png", figure_difference_errors),
        ("error_against_step.png", figure_error_against_step),
        ("gradient_descent.png", figure_descent),
    ];
    for (name, draw) in figures {
        let mut rgb = vec![0; SIZE.0 as usize * SIZE.1 as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
            root.fill(&WHITE)?;
            draw(&root, &xs)?;
            root.present()?;
        }
        let path = out_dir.join(name);
        write_png(&path, &rgb, SIZE)?;
        println!("wrote {}", path.display());
    }

    // The numbers the figures show, and the claims they illustrate.
    let max_error = |derivative: &dyn Fn(f64) -> f64| {
        xs.iter()
            .map(|&x| (derivative(x) - j_prime_by_hand(x)).abs())
            .fold(0.0, f64::max)
    };
    let ad = max_error(&|x| j_grad(x).1);
    let forward_2 = max_error(&|x| forward_difference(x, 1e-2));
    let forward_3 = max_error(&|x| forward_difference(x, 1e-3));
    let central_2 = max_error(&|x| central_difference(x, 1e-2));
    let central_3 = max_error(&|x| central_difference(x, 1e-3));
    println!("max |error| against J'(x) = 3x^2 + 2x - 6 on [{X_MIN}, {X_MAX}]:");
    // Not 0: `j_grad` evaluates 3x² + 2x − 6 in another order than `j_prime_by_hand`, so the
    // two round differently, by a few units in the last place of values up to 27.
    println!("  j_grad (AD)                    {ad:.3e}  (rounding only)");
    println!(
        "  forward difference, dx = 1e-2  {forward_2:.3e}  (predicted 10dx + dx^2 = 1.001e-1)"
    );
    println!("  forward difference, dx = 1e-3  {forward_3:.3e}  (predicted 1.0001e-2)");
    println!("  central difference, dx = 1e-2  {central_2:.3e}  (predicted dx^2 = 1e-4)");
    println!("  central difference, dx = 1e-3  {central_3:.3e}  (predicted dx^2 = 1e-6)");
    assert!(
        central_3 < 1e-5,
        "the central difference at dx = 1e-3 should be second order"
    );
    assert!(forward_3 < forward_2 && central_2 < forward_3);

    let path = descent_path();
    let final_x = path[STEPS];
    println!("gradient descent from x = {START}, step {STEP}: x = {final_x:?} after {STEPS} steps");
    assert!(
        (final_x - EXPECTED_FINAL_X).abs() < 1e-12,
        "the descent should end at {EXPECTED_FINAL_X:?}, not {final_x:?}"
    );
    Ok(())
}

/// Writes 8-bit RGB pixels as a PNG with the best compression (a third to a quarter of the
/// size plotters' own encoder writes). No time stamp is written: same pixels, same bytes.
fn write_png(path: &Path, rgb: &[u8], (width, height): (u32, u32)) -> Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(())
}

/// A curve of a figure: its legend, its colour and a derivative of `J`.
type Curve = (&'static str, RGBColor, fn(f64) -> f64);

type Figure = fn(&DrawingArea<BitMapBackend<'_>, Shift>, &[f64]) -> Result<()>;

/// A legend swatch: a short line in the series' colour.
fn swatch(colour: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
}

fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, LABEL_SIZE))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Figure 1: `J` and the derivative `j_grad` returns, on `[−3, 3]`.
fn figure_function(root: &DrawingArea<BitMapBackend<'_>, Shift>, xs: &[f64]) -> Result<()> {
    let mut chart = ChartBuilder::on(root)
        .caption(
            "J(x) = x³ + x² − 6x + 1 and J′(x) from j_grad",
            (FONT, CAPTION_SIZE),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(X_MIN..X_MAX, -10.0..30.0)?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, LABEL_SIZE))
        .draw()?;
    // The x axis.
    chart.draw_series(LineSeries::new(
        [(X_MIN, 0.0), (X_MAX, 0.0)],
        BLACK.mix(0.5).stroke_width(1),
    ))?;
    chart
        .draw_series(LineSeries::new(
            xs.iter().map(|&x| (x, j_grad(x).0)),
            CURVE_COLOUR.stroke_width(2),
        ))?
        .label("J(x)")
        .legend(swatch(CURVE_COLOUR));
    chart
        .draw_series(LineSeries::new(
            xs.iter().map(|&x| (x, j_grad(x).1)),
            AD_COLOUR.stroke_width(2),
        ))?
        .label("J′(x) = j_grad(x).1")
        .legend(swatch(AD_COLOUR));
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// Figure 2: the error of finite differences against the exact derivative, on `[−3, 3]`.
fn figure_difference_errors(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    xs: &[f64],
) -> Result<()> {
    let mut chart = ChartBuilder::on(root)
        .caption("Finite difference − exact derivative", (FONT, CAPTION_SIZE))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(X_MIN..X_MAX, -0.1..0.12)?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("error")
        .y_label_formatter(&|y| format!("{y:.2}"))
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, LABEL_SIZE))
        .draw()?;
    let curves: [Curve; 3] = [
        (
            "forward, dx = 1e-2: error (3x + 1)·dx + dx²",
            FORWARD_COLOUR,
            |x| forward_difference(x, 1e-2),
        ),
        ("forward, dx = 1e-3", FORWARD_FINE_COLOUR, |x| {
            forward_difference(x, 1e-3)
        }),
        (
            "central, dx = 1e-2: error dx² = 1e-4",
            CENTRAL_COLOUR,
            |x| central_difference(x, 1e-2),
        ),
    ];
    for (label, colour, derivative) in curves {
        chart
            .draw_series(LineSeries::new(
                xs.iter().map(|&x| (x, derivative(x) - j_prime_by_hand(x))),
                colour.stroke_width(2),
            ))?
            .label(label)
            .legend(swatch(colour));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// Figure 3: |error| at `x = 2` against the step, log–log, from `1e-1` down to `1e-12`.
/// Both axes are in decades (`log10` of the value, labelled `1eK`), so that every decade has
/// its label.
fn figure_error_against_step(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    _xs: &[f64],
) -> Result<()> {
    // Steps 10^(−1), 10^(−1.25), …, 10^(−12): four per decade.
    let decades: Vec<f64> = (4..=48).map(|k| -(k as f64) / 4.0).collect();
    let exact = j_prime_by_hand(X_COMPARE);
    let log_error = |derivative: f64| (derivative - exact).abs().max(ZERO_ERROR_FLOOR).log10();
    let decade_label = |v: &f64| format!("1e{v:.0}");

    let mut chart = ChartBuilder::on(root)
        .caption(
            "|error| of J′(2) = 10 against the step",
            (FONT, CAPTION_SIZE),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-12.0..-1.0, -18.0..2.0)?;
    chart
        .configure_mesh()
        .x_desc("step dx")
        .y_desc("|derivative − 10|")
        .x_labels(12)
        .y_labels(11)
        .x_label_formatter(&decade_label)
        .y_label_formatter(&decade_label)
        .light_line_style(WHITE)
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, LABEL_SIZE))
        .draw()?;
    // One rounding of the result: what "exact to machine precision" means here.
    let one_rounding = (f64::EPSILON * exact).log10();
    chart
        .draw_series(LineSeries::new(
            [(-12.0, one_rounding), (-1.0, one_rounding)],
            BLACK.mix(0.6).stroke_width(1),
        ))?
        .label("one rounding of J′(2): ε·10 = 2.2e-15")
        .legend(swatch(RGBColor(100, 100, 100)));
    let curves: [Curve; 2] = [
        ("forward difference", FORWARD_COLOUR, |dx| {
            forward_difference(X_COMPARE, dx)
        }),
        ("central difference", CENTRAL_COLOUR, |dx| {
            central_difference(X_COMPARE, dx)
        }),
    ];
    for (label, colour, derivative) in curves {
        let points: Vec<(f64, f64)> = decades
            .iter()
            .map(|&k| (k, log_error(derivative(10f64.powf(k)))))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(label)
            .legend(swatch(colour));
        chart.draw_series(
            points
                .into_iter()
                .map(|point| Circle::new(point, 3, colour.filled())),
        )?;
    }
    // The generated derivative takes no step: one horizontal line.
    let ad_error = log_error(j_grad(X_COMPARE).1);
    chart
        .draw_series(LineSeries::new(
            [(-12.0, ad_error), (-1.0, ad_error)],
            AD_COLOUR.stroke_width(2),
        ))?
        .label("j_grad (no step): error 0, drawn at 1e-17")
        .legend(swatch(AD_COLOUR));
    // Above the curves, in pixels from the top left corner of the plot.
    draw_legend(&mut chart, SeriesLabelPosition::Coordinate(8, 4))
}

/// The descent of `examples/gradient_descent.rs`: `x ← x − 0.1·J′(x)` from 3, 20 times,
/// with the derivative from `j_grad`. Returns the 21 points, start included.
fn descent_path() -> Vec<f64> {
    let mut path = vec![START];
    let mut x = START;
    for _ in 0..STEPS {
        x -= STEP * j_grad(x).1;
        path.push(x);
    }
    path
}

/// Figure 4: the gradient-descent path drawn over `J`.
fn figure_descent(root: &DrawingArea<BitMapBackend<'_>, Shift>, _xs: &[f64]) -> Result<()> {
    let (left, right) = (-0.25, 3.25);
    let path = descent_path();
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Gradient descent x ← x − 0.1·J′(x) from x = 3, 20 steps",
            (FONT, CAPTION_SIZE),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(left..right, -5.0..27.0)?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, LABEL_SIZE))
        .draw()?;
    let curve: Vec<(f64, f64)> = (0..=350)
        .map(|i| left + (right - left) * i as f64 / 350.0)
        .map(|x| (x, j(x)))
        .collect();
    chart
        .draw_series(LineSeries::new(curve, CURVE_COLOUR.stroke_width(2)))?
        .label("J(x)")
        .legend(swatch(CURVE_COLOUR));
    chart
        .draw_series(LineSeries::new(
            path.iter().map(|&x| (x, j(x))),
            FORWARD_COLOUR.mix(0.7).stroke_width(2),
        ))?
        .label("the steps x₀ → x₁ → … → x₂₀")
        .legend(swatch(FORWARD_COLOUR));
    chart.draw_series(
        path.iter()
            .map(|&x| Circle::new((x, j(x)), 4, FORWARD_COLOUR.filled())),
    )?;
    // Name the first steps, and the end point.
    let names = [
        (0, "x₀ = 3", (-60, -6)),
        (1, "x₁", (-8, -24)),
        (2, "x₂", (-8, -24)),
        (STEPS, "x₂₀ = 1.1196…", (-40, 10)),
    ];
    for (k, name, (dx, dy)) in names {
        let x = path[k];
        chart.draw_series(std::iter::once(
            EmptyElement::at((x, j(x))) + Text::new(name, (dx, dy), (FONT, LABEL_SIZE)),
        ))?;
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
}
