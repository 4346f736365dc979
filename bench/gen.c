/*
 * gen - deterministic generator of realistic CRM exports for `make bench`.
 *
 *   gen customers N [--seed S]
 *   gen orders N_ORDERS N_CUSTOMERS [--seed S]
 *   gen events N_EVENTS N_CUSTOMERS [--seed S]
 *
 * Writes CSV with a header to stdout. The same arguments always give the
 * same bytes (own PRNG, no rand(), no clock, no locale). No two customers
 * share an id, an e-mail (also after trimming and lower-casing) or a phone
 * (also after normalisation to E.164), and no two orders share an id, so
 * that sqlite3's .import into tables with crm-import's unique keys accepts
 * every row. About 0.1% of the customer rows are dirty the way real
 * exports are (an invalid e-mail, a quoted field with a comma, a doubled
 * quote in a name), but every row keeps an id and stays importable.
 *
 * Standalone C11, libc only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- output: one big buffer, written with fwrite ---------------------- */

#define OUTBUF (1u << 20)
static char out[OUTBUF];
static size_t outn;

static void flush_out(void)
{
	if (outn && fwrite(out, 1, outn, stdout) != outn) {
		perror("gen: write");
		exit(1);
	}
	outn = 0;
}

/* every row is far shorter than this: flush once per row when needed */
static void row_room(void)
{
	if (outn > OUTBUF - 4096)
		flush_out();
}

static void put(const char *s)
{
	size_t n = strlen(s);
	memcpy(out + outn, s, n);
	outn += n;
}

static void putc1(char c)
{
	out[outn++] = c;
}

/* unsigned decimal, zero-padded to at least width digits */
static void putu(uint64_t v, int width)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < width)
		tmp[n++] = '0';
	while (n)
		out[outn++] = tmp[--n];
}

/* ASCII lower- or upper-case copy */
static void put_case(const char *s, int upper_first)
{
	for (; *s; s++) {
		char c = *s;
		if (upper_first && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		upper_first = 0;
		out[outn++] = c;
	}
}

/* ---- PRNG: splitmix64 seeding an xorshift64* stream ------------------- */

static uint64_t rng_state;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void rng_seed(uint64_t seed, uint64_t stream)
{
	uint64_t x = seed * 0x2545F4914F6CDD1Dull + stream;
	rng_state = splitmix64(&x);
	if (!rng_state)
		rng_state = 1;
}

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* uniform in [0, n) (the bias of a 64-bit modulo is negligible here) */
static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

/* uniform in [0, 1) */
static double unif(void)
{
	return (double)(rnd() >> 11) * 0x1.0p-53;
}

/* true with probability per10000 / 10000 */
static int chance(unsigned per10000)
{
	return below(10000) < per10000;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(a) ((a)[below(N_OF(a))])

/* ---- calendar ---------------------------------------------------------- */

static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* "YYYY-MM-DD<sep>HH:MM:SS" */
static void put_time(int64_t t, char sep)
{
	int y, m, d;
	int64_t days = t / 86400, s = t % 86400;
	civil_from_days(days, &y, &m, &d);
	putu((uint64_t)y, 4);
	putc1('-');
	putu((uint64_t)m, 2);
	putc1('-');
	putu((uint64_t)d, 2);
	putc1(sep);
	putu((uint64_t)(s / 3600), 2);
	putc1(':');
	putu((uint64_t)(s / 60 % 60), 2);
	putc1(':');
	putu((uint64_t)(s % 60), 2);
}

/* ---- reference data ---------------------------------------------------- */

/* a name as shown and its ASCII form for e-mail addresses */
struct name {
	const char *shown, *ascii;
};

struct country {
	const char *code;
	unsigned weight;                  /* share of customers, per mille */
	const struct name *first_m, *first_f, *last;
	size_t n_first_m, n_first_f, n_last;
	int gendered_last;                /* Russian: Ivanov / Ivanova */
	const char *const *cities;
	size_t n_cities;
};

static const struct name ru_first_m[] = {
	{ "Иван", "ivan" }, { "Алексей", "aleksey" }, { "Дмитрий", "dmitry" },
	{ "Сергей", "sergey" }, { "Андрей", "andrey" }, { "Михаил", "mikhail" },
	{ "Никита", "nikita" }, { "Артём", "artem" }, { "Павел", "pavel" },
	{ "Владимир", "vladimir" }, { "Ivan", "ivan" }, { "Alexey", "alexey" },
	{ "Dmitry", "dmitry" }, { "Sergey", "sergey" }, { "Egor", "egor" },
	{ "Maxim", "maxim" },
};
static const struct name ru_first_f[] = {
	{ "Анна", "anna" }, { "Мария", "maria" }, { "Елена", "elena" },
	{ "Ольга", "olga" }, { "Наталья", "natalya" }, { "Татьяна", "tatyana" },
	{ "Юлия", "yulia" }, { "Ксения", "ksenia" }, { "Дарья", "darya" },
	{ "Екатерина", "ekaterina" }, { "Anna", "anna" }, { "Maria", "maria" },
	{ "Elena", "elena" }, { "Olga", "olga" }, { "Svetlana", "svetlana" },
};
/* male forms; the female form appends "а" / "a" */
static const struct name ru_last[] = {
	{ "Иванов", "ivanov" }, { "Смирнов", "smirnov" }, { "Кузнецов", "kuznetsov" },
	{ "Попов", "popov" }, { "Васильев", "vasiliev" }, { "Петров", "petrov" },
	{ "Соколов", "sokolov" }, { "Михайлов", "mikhailov" }, { "Новиков", "novikov" },
	{ "Фёдоров", "fedorov" }, { "Морозов", "morozov" }, { "Волков", "volkov" },
	{ "Лебедев", "lebedev" }, { "Семёнов", "semenov" }, { "Ivanov", "ivanov" },
	{ "Petrov", "petrov" }, { "Sidorov", "sidorov" }, { "Orlov", "orlov" },
	{ "Zaitsev", "zaitsev" }, { "Pavlov", "pavlov" },
};
static const char *const ru_cities[] = {
	"Moscow", "Saint Petersburg", "Kazan", "Izhevsk", "Novosibirsk",
	"Yekaterinburg", "Nizhny Novgorod", "Samara", "Москва", "Санкт-Петербург",
	"Казань", "Ижевск", "Краснодар", "Rostov-on-Don",
};

static const struct name tr_first_m[] = {
	{ "Mehmet", "mehmet" }, { "Mustafa", "mustafa" }, { "Ahmet", "ahmet" },
	{ "Ali", "ali" }, { "Hüseyin", "huseyin" }, { "Şükrü", "sukru" },
	{ "Emre", "emre" }, { "Burak", "burak" }, { "Oğuz", "oguz" },
	{ "İbrahim", "ibrahim" },
};
static const struct name tr_first_f[] = {
	{ "Ayşe", "ayse" }, { "Fatma", "fatma" }, { "Zeynep", "zeynep" },
	{ "Elif", "elif" }, { "Çağla", "cagla" }, { "Gül", "gul" },
	{ "Özlem", "ozlem" }, { "Merve", "merve" }, { "Büşra", "busra" },
};
static const struct name tr_last[] = {
	{ "Yılmaz", "yilmaz" }, { "Kaya", "kaya" }, { "Demir", "demir" },
	{ "Şahin", "sahin" }, { "Çelik", "celik" }, { "Yıldız", "yildiz" },
	{ "Yıldırım", "yildirim" }, { "Öztürk", "ozturk" }, { "Aydın", "aydin" },
	{ "Özdemir", "ozdemir" }, { "Arslan", "arslan" }, { "Doğan", "dogan" },
	{ "Kılıç", "kilic" }, { "Güneş", "gunes" },
};
static const char *const tr_cities[] = {
	"Istanbul", "İstanbul", "Ankara", "İzmir", "Bursa", "Antalya", "Konya",
	"Eskişehir", "Gaziantep",
};

static const struct name de_first_m[] = {
	{ "Jürgen", "juergen" }, { "Thomas", "thomas" }, { "Michael", "michael" },
	{ "Andreas", "andreas" }, { "Stefan", "stefan" }, { "Lukas", "lukas" },
	{ "Jörg", "joerg" }, { "Felix", "felix" },
};
static const struct name de_first_f[] = {
	{ "Sabine", "sabine" }, { "Ursula", "ursula" }, { "Julia", "julia" },
	{ "Käthe", "kaethe" }, { "Anna", "anna" }, { "Lena", "lena" },
	{ "Jana", "jana" },
};
static const struct name de_last[] = {
	{ "Müller", "mueller" }, { "Schmidt", "schmidt" }, { "Schneider", "schneider" },
	{ "Fischer", "fischer" }, { "Weber", "weber" }, { "Meyer", "meyer" },
	{ "Wagner", "wagner" }, { "Becker", "becker" }, { "Schäfer", "schaefer" },
	{ "Koch", "koch" }, { "Groß", "gross" }, { "Hoffmann", "hoffmann" },
};
static const char *const de_cities[] = {
	"Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart",
	"Düsseldorf", "Leipzig",
};

static const struct name gb_first_m[] = {
	{ "Oliver", "oliver" }, { "George", "george" }, { "Harry", "harry" },
	{ "Jack", "jack" }, { "James", "james" }, { "William", "william" },
	{ "Thomas", "thomas" },
};
static const struct name gb_first_f[] = {
	{ "Olivia", "olivia" }, { "Amelia", "amelia" }, { "Isla", "isla" },
	{ "Emily", "emily" }, { "Sophie", "sophie" }, { "Chloé", "chloe" },
};
static const struct name gb_last[] = {
	{ "Smith", "smith" }, { "Jones", "jones" }, { "Taylor", "taylor" },
	{ "Brown", "brown" }, { "Williams", "williams" }, { "Wilson", "wilson" },
	{ "O'Brien", "obrien" }, { "Evans", "evans" }, { "Davies", "davies" },
	{ "Thomas", "thomas" },
};
static const char *const gb_cities[] = {
	"London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Liverpool",
	"Bristol", "Edinburgh",
};

static const struct name us_first_m[] = {
	{ "John", "john" }, { "Michael", "michael" }, { "David", "david" },
	{ "James", "james" }, { "Robert", "robert" }, { "Daniel", "daniel" },
	{ "José", "jose" },
};
static const struct name us_first_f[] = {
	{ "Mary", "mary" }, { "Jennifer", "jennifer" }, { "Linda", "linda" },
	{ "Emma", "emma" }, { "Ashley", "ashley" }, { "Sarah", "sarah" },
};
static const struct name us_last[] = {
	{ "Smith", "smith" }, { "Johnson", "johnson" }, { "Williams", "williams" },
	{ "Garcia", "garcia" }, { "Miller", "miller" }, { "Davis", "davis" },
	{ "Rodriguez", "rodriguez" }, { "Martinez", "martinez" }, { "Lee", "lee" },
	{ "McDonald", "mcdonald" },
};
static const char *const us_cities[] = {
	"New York", "Los Angeles", "Chicago", "Houston", "Phoenix",
	"Philadelphia", "San Antonio", "San Diego", "Seattle", "Boston",
};

#define NAMES(a) a, N_OF(a)

enum { C_RU, C_TR, C_DE, C_GB, C_US, C_MAX };

static const struct country countries[C_MAX] = {
	[C_RU] = { "RU", 550, ru_first_m, ru_first_f, ru_last, N_OF(ru_first_m),
		   N_OF(ru_first_f), N_OF(ru_last), 1, NAMES(ru_cities) },
	[C_TR] = { "TR", 150, tr_first_m, tr_first_f, tr_last, N_OF(tr_first_m),
		   N_OF(tr_first_f), N_OF(tr_last), 0, NAMES(tr_cities) },
	[C_DE] = { "DE", 100, de_first_m, de_first_f, de_last, N_OF(de_first_m),
		   N_OF(de_first_f), N_OF(de_last), 0, NAMES(de_cities) },
	[C_GB] = { "GB", 100, gb_first_m, gb_first_f, gb_last, N_OF(gb_first_m),
		   N_OF(gb_first_f), N_OF(gb_last), 0, NAMES(gb_cities) },
	[C_US] = { "US", 100, us_first_m, us_first_f, us_last, N_OF(us_first_m),
		   N_OF(us_first_f), N_OF(us_last), 0, NAMES(us_cities) },
};

static const char *const domains[] = {
	"gmail.com", "yandex.ru", "mail.ru", "outlook.com", "hotmail.com",
	"yahoo.com", "icloud.com", "gmx.de", "web.de", "t-online.de", "bk.ru",
	"inbox.ru", "list.ru", "rambler.ru", "ya.ru", "hotmail.co.uk",
	"btinternet.com", "protonmail.com", "aol.com", "example.com.tr",
};

/* ---- phones -------------------------------------------------------------
 * Customer k of a country (k counts that country's customers) gets a
 * national significant number derived from k by a bijection, so numbers
 * never repeat; the shown format varies.
 */

/* a bijection of [0, 10^digits) */
static uint64_t scramble(uint64_t v, uint64_t mod, uint64_t mul, uint64_t add)
{
	return (v % mod * mul + add) % mod;
}

static const unsigned ru_codes[] = { /* mobile operators 9xx */
	900, 901, 902, 903, 904, 905, 906, 908, 909, 910, 911, 912, 913, 914,
	915, 916, 917, 918, 919, 920, 921, 922, 923, 924, 925, 926, 927, 928,
	929, 930, 931, 932, 933, 934, 936, 937, 938, 939, 950, 951, 952, 953,
	960, 961, 962, 963, 964, 965, 966, 967, 968, 969, 977, 978, 980, 981,
	982, 983, 984, 985, 986, 987, 988, 989, 991, 992, 993, 994, 995, 996,
	997, 999,
};
static const unsigned tr_codes[] = { /* mobile 5xx */
	501, 505, 506, 507, 530, 531, 532, 533, 534, 535, 536, 537, 538, 539,
	541, 542, 543, 544, 545, 546, 547, 548, 549, 551, 552, 553, 554, 555,
};
static const unsigned us_codes[] = { /* area codes */
	212, 213, 214, 206, 303, 305, 312, 323, 404, 415, 503, 512, 602, 615,
	617, 646, 702, 704, 713, 718,
};
static const unsigned de_codes[] = { /* mobile 15x/16x/17x (8-digit numbers) */
	151, 152, 157, 159, 160, 162, 163, 170, 171, 172, 173, 174, 175, 176,
	177, 178, 179,
};
static const unsigned gb_codes[] = { /* mobile 07xxx: the "7xx" */
	740, 741, 745, 746, 747, 748, 749, 750, 751, 752, 753, 754, 755, 756,
	757, 758, 759, 760, 761, 762, 763, 764, 765, 766, 767, 768, 769, 770,
	771, 772, 773, 774, 775, 776, 777, 778, 779, 780, 781, 782, 783, 784,
	785, 786, 787, 788, 789, 790, 791, 792, 793, 794, 795, 796, 797, 798,
	799,
};

static uint64_t per_country[C_MAX];

/* digits d of width w into buf, returns buf */
static const char *digits(char *buf, uint64_t d, int w)
{
	buf[w] = 0;
	for (int i = w - 1; i >= 0; i--, d /= 10)
		buf[i] = (char)('0' + d % 10);
	return buf;
}

static void put_phone(int c)
{
	uint64_t k = per_country[c]++;
	char a[12], b[12], x[4], y[4], z[4];

	switch (c) {
	case C_RU: { /* +7 9xx xxx xx xx */
		unsigned code = ru_codes[k % N_OF(ru_codes)];
		uint64_t s = scramble(k / N_OF(ru_codes), 10000000, 3333337, 5180423);
		digits(a, code, 3);
		digits(b, s, 7);
		memcpy(x, b, 3), x[3] = 0;
		memcpy(y, b + 3, 2), y[2] = 0;
		memcpy(z, b + 5, 2), z[2] = 0;
		switch (below(7)) {
		case 0: put("8 ("), put(a), put(") "), put(x), putc1('-'), put(y), putc1('-'), put(z); break;
		case 1: put("+7 "), put(a), putc1(' '), put(x), putc1('-'), put(y), putc1('-'), put(z); break;
		case 2: put("+7"), put(a), put(b); break;
		case 3: put("8-"), put(a), putc1('-'), put(x), putc1('-'), put(y), putc1('-'), put(z); break;
		case 4: putc1('8'), put(a), put(b); break;
		case 5: put("+7 ("), put(a), put(") "), put(x), putc1(' '), put(y), putc1(' '), put(z); break;
		default: put(a), putc1(' '), put(x), putc1(' '), put(y), put(z); break;
		}
		break;
	}
	case C_TR: { /* +90 5xx xxx xx xx */
		unsigned code = tr_codes[k % N_OF(tr_codes)];
		uint64_t s = scramble(k / N_OF(tr_codes), 10000000, 7654321, 2861947);
		digits(a, code, 3);
		digits(b, s, 7);
		memcpy(x, b, 3), x[3] = 0;
		memcpy(y, b + 3, 2), y[2] = 0;
		memcpy(z, b + 5, 2), z[2] = 0;
		switch (below(5)) {
		case 0: putc1('0'), put(a), putc1(' '), put(x), putc1(' '), put(y), putc1(' '), put(z); break;
		case 1: put("+90 "), put(a), putc1(' '), put(x), putc1(' '), put(y), putc1(' '), put(z); break;
		case 2: put("0 ("), put(a), put(") "), put(x), putc1(' '), put(y), putc1(' '), put(z); break;
		case 3: put("+90"), put(a), put(b); break;
		default: put(a), put(b); break;
		}
		break;
	}
	case C_US: { /* +1 NPA NXX XXXX, exchange 200..999 */
		unsigned code = us_codes[k % N_OF(us_codes)];
		uint64_t s = scramble(k / N_OF(us_codes), 8000000, 3000017, 3518066);
		digits(a, code, 3);
		digits(x, 200 + s / 10000, 3);
		digits(b, s % 10000, 4);
		switch (below(6)) {
		case 0: put("+1 "), put(a), putc1('-'), put(x), putc1('-'), put(b); break;
		case 1: putc1('('), put(a), put(") "), put(x), putc1('-'), put(b); break;
		case 2: put(a), putc1('-'), put(x), putc1('-'), put(b); break;
		case 3: put(a), putc1('.'), put(x), putc1('.'), put(b); break;
		case 4: put("1 "), put(a), putc1(' '), put(x), putc1(' '), put(b); break;
		default: put("+1"), put(a), put(x), put(b); break;
		}
		break;
	}
	case C_DE: { /* Berlin 030 2xxxxxxx, or mobile 01xx xxxxxxxx */
		if (k % 4 == 0) {
			uint64_t s = scramble(k / 4, 10000000, 1234567, 6419835);
			digits(b, 20000000 + s, 8);
			switch (below(4)) {
			case 0: put("030 "), put(b); break;
			case 1: put("+49 30 "), put(b); break;
			case 2: put("030/"), put(b); break;
			default: put("(030) "), put(b); break;
			}
		} else {
			uint64_t kk = k - k / 4 - 1; /* 0, 1, 2, ... over k % 4 != 0 */
			unsigned code = de_codes[kk % N_OF(de_codes)];
			uint64_t s = scramble(kk / N_OF(de_codes), 100000000, 12345679, 47182903);
			digits(a, code, 3);
			digits(b, s, 8);
			switch (below(4)) {
			case 0: putc1('0'), put(a), putc1(' '), put(b); break;
			case 1: put("+49 "), put(a), putc1(' '), put(b); break;
			case 2: put("0049 "), put(a), putc1(' '), put(b); break;
			default: putc1('0'), put(a), putc1('-'), put(b); break;
			}
		}
		break;
	}
	default: { /* GB: +44 7xxx xxxxxx: "7xx" code, 7-digit subscriber */
		unsigned code = gb_codes[k % N_OF(gb_codes)];
		uint64_t s = scramble(k / N_OF(gb_codes), 10000000, 7777781, 3926154);
		digits(a, code, 3);
		digits(b, s, 7);
		/* shown as 07xxx xxxxxx: the subscriber's first digit joins the code */
		switch (below(4)) {
		case 0: put("07"), put(a + 1), putc1(b[0]), putc1(' '), put(b + 1); break;
		case 1: put("+44 7"), put(a + 1), putc1(b[0]), putc1(' '), put(b + 1); break;
		case 2: put("+447"), put(a + 1), put(b); break;
		default: put("07"), put(a + 1), putc1(b[0]), putc1('-'), put(b + 1); break;
		}
		break;
	}
	}
}

/* ---- customers --------------------------------------------------------- */

static int id_width(uint64_t n, int min)
{
	int w = 1;
	for (uint64_t v = n; v >= 10; v /= 10)
		w++;
	return w > min ? w : min;
}

static int pick_country(void)
{
	unsigned r = (unsigned)below(1000), acc = 0;
	for (int c = 0; c < C_MAX; c++) {
		acc += countries[c].weight;
		if (r < acc)
			return c;
	}
	return C_RU;
}

static void put_email(uint64_t i, const struct name *f, const struct name *l,
		      int cyr_female, int invalid)
{
	int upper = chance(200);
	int spaced = chance(100);
	const char *dom = PICK(domains);

	if (spaced)
		putc1(' ');
	switch (below(5)) {
	case 0:
	case 1:
		put_case(f->ascii, upper), putc1('.'), put_case(l->ascii, upper);
		if (cyr_female)
			putc1('a');
		putc1('+');
		break;
	case 2:
		put_case(f->ascii, upper), put_case(l->ascii, 0);
		if (cyr_female)
			putc1('a');
		break;
	case 3:
		putc1(f->ascii[0]), putc1('.'), put_case(l->ascii, 0);
		if (cyr_female)
			putc1('a');
		putc1('.');
		break;
	default:
		put_case(f->ascii, 0), putc1('_');
		break;
	}
	/* the number ends the local part: it makes every address unique */
	putu(i, 1);
	if (invalid) {
		switch (below(3)) {
		case 0: putc1('@'), putc1('@'), put(dom); break;   /* two '@' */
		case 1: put(" at "), put(dom); break;              /* no '@' */
		default: putc1('@'), put(dom), outn -= strlen(strchr(dom, '.')); /* no TLD */
		}
	} else {
		putc1('@');
		if (upper)
			put_case(dom, 1);
		else
			put(dom);
	}
	if (spaced)
		putc1(' ');
}

static void gen_customers(uint64_t n, uint64_t seed)
{
	static const char *const plans[] = { "free", "free", "free", "free", "free",
		"free", "basic", "basic", "basic", "pro", "pro", "enterprise" };
	const int64_t created_lo = days_from_civil(2018, 1, 1) * 86400;
	const int64_t created_hi = days_from_civil(2026, 10, 31) * 86400;
	int w = id_width(n, 7);

	rng_seed(seed, 1);
	put("id,email,phone,first_name,last_name,birthday,city,country,created_at,plan,loyalty_points\n");
	for (uint64_t i = 1; i <= n; i++) {
		int c = pick_country();
		const struct country *co = &countries[c];
		int female = chance(5200);
		const struct name *l = &co->last[below(co->n_last)], *f;
		/* Russian names are either all Cyrillic or all Latin */
		do {
			f = female ? &co->first_f[below(co->n_first_f)]
				   : &co->first_m[below(co->n_first_m)];
		} while (co->gendered_last && (f->shown[0] & 0x80) != (l->shown[0] & 0x80));
		int dirty = chance(10) ? 1 + (int)below(3) : 0; /* 0.1% of rows */
		int has_email = dirty == 1 || !chance(400);
		int has_phone = !has_email || !chance(1200);

		row_room();
		putc1('C');
		putu(i, w);
		putc1(',');
		if (has_email)
			put_email(i, f, l, female && co->gendered_last, dirty == 1);
		putc1(',');
		if (has_phone)
			put_phone(c);
		putc1(',');
		/* first name; dirty 2: a nickname in doubled quotes */
		if (dirty == 2) {
			static const char *const nicks[] = { "Sasha", "Kate", "Bob", "Jo", "Max", "Mimi" };
			putc1('"'), put(f->shown), put(" \"\"");
			put(PICK(nicks)), put("\"\"\"");
		} else {
			put(f->shown);
		}
		putc1(',');
		put(l->shown);
		if (female && co->gendered_last)
			put(l->shown[0] & 0x80 ? "а" : "a");
		putc1(',');
		/* birthday: 80% known, 1950..2007; some dd.mm.yyyy */
		if (chance(8000)) {
			int y = 1950 + (int)below(58), m = 1 + (int)below(12);
			int d = 1 + (int)below(28);
			if (chance(1500)) {
				putu((uint64_t)d, 2), putc1('.'), putu((uint64_t)m, 2), putc1('.');
				putu((uint64_t)y, 4);
			} else {
				putu((uint64_t)y, 4), putc1('-'), putu((uint64_t)m, 2), putc1('-');
				putu((uint64_t)d, 2);
			}
		}
		putc1(',');
		/* city; dirty 3: a quoted city with a comma */
		if (dirty == 3) {
			putc1('"'), put(co->cities[below(co->n_cities)]);
			put(c == C_US ? ", WA\"" : c == C_RU ? ", Russia\"" : ", Centre\"");
		} else {
			put(co->cities[below(co->n_cities)]);
		}
		putc1(',');
		put(co->code);
		putc1(',');
		int64_t t = created_lo + (int64_t)below((uint64_t)(created_hi - created_lo));
		switch (below(10)) {
		case 0: put_time(t, ' '); break;
		case 1: put_time(t + 3 * 3600, 'T'), put("+03:00"); break;
		default: put_time(t, 'T'), putc1('Z'); break;
		}
		putc1(',');
		put(PICK(plans));
		putc1(',');
		if (!chance(1000)) {
			uint64_t p = below(100) < 30 ? 0 : below(200) * below(250);
			putu(p, 1);
		}
		putc1('\n');
	}
}

/* ---- orders -------------------------------------------------------------
 * Orders come in time order (as an export sorted by date does), one
 * customer each. Buyers are a Pareto-ish crowd: 35% of the customers never
 * buy; among the others the top 10% place 45% of the orders. Ranks are mapped to customers by a bijection so that frequent
 * buyers are spread over the id range.
 */

static void gen_orders(uint64_t n, uint64_t ncust, uint64_t seed)
{
	const int64_t lo = days_from_civil(2023, 1, 1) * 86400;
	const int64_t hi = days_from_civil(2026, 11, 1) * 86400;
	const double step = (double)(hi - lo) / (double)n;
	const uint64_t buyers = ncust - ncust * 35 / 100 > 0 ? ncust - ncust * 35 / 100 : 1;
	const uint64_t mul = 2654435761u; /* prime, > any sane ncust */
	int w = id_width(n, 8), cw = id_width(ncust, 7);

	rng_seed(seed, 2);
	put("order_id,customer_id,ordered_at,amount,currency,status\n");
	for (uint64_t i = 1; i <= n; i++) {
		uint64_t rank;
		double u = unif();
		row_room();
		putc1('O');
		putu(i, w);
		putc1(',');
		/* tiers of buyers by rank: the top 1% place 15% of the orders,
		 * the next 9% 30%, the next 30% 30%, the other 60% 25% */
		if (u < 0.15)
			rank = (uint64_t)((double)buyers * 0.01 * (u / 0.15));
		else if (u < 0.45)
			rank = (uint64_t)((double)buyers * (0.01 + 0.09 * ((u - 0.15) / 0.30)));
		else if (u < 0.75)
			rank = (uint64_t)((double)buyers * (0.10 + 0.30 * ((u - 0.45) / 0.30)));
		else
			rank = (uint64_t)((double)buyers * (0.40 + 0.60 * ((u - 0.75) / 0.25)));
		if (rank >= buyers)
			rank = buyers - 1;
		putc1('C');
		putu((rank * mul + 12345) % ncust + 1, cw);
		putc1(',');
		int64_t t = lo + (int64_t)((double)(i - 1) * step + unif() * step);
		if (t >= hi)
			t = hi - 1;
		put_time(t, ' ');
		putc1(',');

		unsigned cur = (unsigned)below(100);
		uint64_t major, minor;
		static const unsigned cents[] = { 0, 0, 0, 0, 50, 90, 99, 49 };
		if (cur < 90) { /* RUB: 99 .. ~100 000, most a few thousand */
			major = 99 + below(300) * (1 + below(40)) * (1 + below(8));
			minor = PICK(cents);
		} else { /* USD, EUR */
			major = 5 + below(60) * (1 + below(10));
			minor = below(100);
		}
		if (major >= 1000 && chance(50)) { /* "1 234,50" */
			putc1('"');
			putu(major / 1000, 1), putc1(' '), putu(major % 1000, 3);
			putc1(','), putu(minor, 2), putc1('"');
		} else {
			putu(major, 1), putc1('.'), putu(minor, 2);
		}
		putc1(',');
		put(cur < 90 ? "RUB" : cur < 96 ? "USD" : "EUR");
		putc1(',');
		unsigned st = (unsigned)below(1000);
		put(st < 950 ? "completed" : st < 980 ? "refunded" : st < 998 ? "cancelled" : "canceled");
		putc1('\n');
	}
}

/* ---- events -------------------------------------------------------------
 * Engagement over the six months before the orders end (2026-05-01 to
 * 2026-11-01), in time order: site visits, product views and cart adds
 * of 80% of the customers (the busy ones busier, as with orders), and
 * the e-mail history of the monthly promo campaigns and the welcome
 * series (delivered, opened, clicked, a few bounces and unsubscribes).
 * The columns are those crm-import events reads; "page" and "sku" are
 * not event fields and end up in props.
 */

static void gen_events(uint64_t n, uint64_t ncust, uint64_t seed)
{
	static const struct { const char *type; unsigned per1000; int email; } types[] = {
		{ "site_visit", 330, 0 }, { "product_view", 200, 0 }, { "cart_add", 120, 0 },
		{ "delivered", 200, 1 }, { "opened", 100, 1 }, { "clicked", 40, 1 },
		{ "bounced", 5, 1 }, { "unsubscribed", 5, 1 },
	};
	static const char *const pages[] = { "/", "/catalog", "/sale", "/cart", "/account", "/blog" };
	const int64_t lo = days_from_civil(2026, 5, 1) * 86400;
	const int64_t hi = days_from_civil(2026, 11, 1) * 86400;
	const double step = (double)(hi - lo) / (double)(n ? n : 1);
	const uint64_t active = ncust - ncust / 5 > 0 ? ncust - ncust / 5 : 1;
	const uint64_t mul = 2246822519u; /* prime, another spread than orders' */
	int w = id_width(n, 9), cw = id_width(ncust, 7);

	rng_seed(seed, 3);
	put("event_id,customer_id,type,occurred_at,campaign,page,sku\n");
	for (uint64_t i = 1; i <= n; i++) {
		unsigned r = (unsigned)below(1000), acc = 0;
		size_t t = 0;
		double u = unif();
		uint64_t rank;

		for (t = 0; t + 1 < N_OF(types); t++) {
			acc += types[t].per1000;
			if (r < acc)
				break;
		}
		/* the top 10% of the active customers make half the events */
		if (u < 0.5)
			rank = (uint64_t)((double)active * 0.1 * (u / 0.5));
		else
			rank = (uint64_t)((double)active * (0.1 + 0.9 * ((u - 0.5) / 0.5)));
		if (rank >= active)
			rank = active - 1;
		row_room();
		putc1('E');
		putu(i, w);
		putc1(',');
		putc1('C');
		putu((rank * mul + 777) % ncust + 1, cw);
		putc1(',');
		put(types[t].type);
		putc1(',');
		int64_t ts = lo + (int64_t)((double)(i - 1) * step + unif() * step);
		if (ts >= hi)
			ts = hi - 1;
		put_time(ts, 'T');
		putc1('Z');
		putc1(',');
		if (types[t].email) {
			int y, m, d;

			civil_from_days(ts / 86400, &y, &m, &d);
			if (chance(2500)) {
				put(chance(5000) ? "welcome-1" : "welcome-2");
			} else {
				put("promo-2026-");
				putu((uint64_t)m, 2);
			}
			put(",,");
		} else {
			putc1(',');
			put(PICK(pages));
			putc1(',');
			if (t > 0) { /* product views and cart adds name a product */
				put("SKU-");
				putu(below(5000), 5);
			}
		}
		putc1('\n');
	}
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
	fputs("usage: gen customers N [--seed S]\n"
	      "       gen orders N_ORDERS N_CUSTOMERS [--seed S]\n"
	      "       gen events N_EVENTS N_CUSTOMERS [--seed S]\n", stderr);
	exit(2);
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v;
	if (!s || *s < '0' || *s > '9')
		usage();
	v = strtoull(s, &end, 10);
	if (*end)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	uint64_t seed = 1, a, b = 0;
	int nargs = 0;
	const char *kind = NULL;
	const char *pos[3] = { 0 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed")) {
			if (++i >= argc)
				usage();
			seed = num(argv[i]);
		} else if (!strncmp(argv[i], "--seed=", 7)) {
			seed = num(argv[i] + 7);
		} else if (nargs < 3) {
			pos[nargs++] = argv[i];
		} else {
			usage();
		}
	}
	kind = pos[0];
	if (!kind)
		usage();
	if (!strcmp(kind, "customers") && nargs == 2) {
		a = num(pos[1]);
		gen_customers(a, seed);
	} else if (!strcmp(kind, "orders") && nargs == 3) {
		a = num(pos[1]);
		b = num(pos[2]);
		if (!b) {
			fputs("gen: orders need at least one customer\n", stderr);
			return 2;
		}
		gen_orders(a, b, seed);
	} else if (!strcmp(kind, "events") && nargs == 3) {
		a = num(pos[1]);
		b = num(pos[2]);
		if (!b) {
			fputs("gen: events need at least one customer\n", stderr);
			return 2;
		}
		gen_events(a, b, seed);
	} else {
		usage();
	}
	flush_out();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("gen: write");
		return 1;
	}
	return 0;
}
