// Writes a synthetic English corpus of captions describing images and sounds, for training Kiln's small
// shipped BPE vocabulary (assets/tokenizer/kiln-bpe-4k.txt.gz). Deterministic (seeded), generated from the
// word lists below — no scraped text. Usage: node scripts/make-corpus.mjs [out.txt] [--kb 250] [--seed 1]
import { writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const outPath = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
const targetBytes = opt('kb', 300) * 1024;

// mulberry32: a small seeded generator, so the corpus is the same on every machine.
let state = opt('seed', 1) >>> 0;
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const words = (s) => s.trim().split(/\s+/);

const animals = words(`dog cat horse cow sheep goat pig chicken duck goose swan owl eagle hawk falcon parrot pigeon sparrow
  robin crow raven seagull pelican penguin flamingo heron stork crane deer moose elk bear wolf fox rabbit hare squirrel
  chipmunk mouse rat hamster beaver otter seal walrus whale dolphin shark octopus jellyfish turtle tortoise frog toad
  lizard snake crocodile alligator elephant giraffe zebra lion tiger leopard cheetah panther monkey gorilla chimpanzee
  kangaroo koala panda camel llama donkey buffalo bison bee wasp butterfly moth dragonfly beetle ladybug grasshopper
  cricket spider ant snail crab lobster salmon trout goldfish puppy kitten pony calf lamb foal cub`);
const people = words(`man woman boy girl child baby toddler teenager grandmother grandfather father mother family couple
  chef baker farmer fisherman sailor pilot driver cyclist runner swimmer surfer skier skateboarder climber hiker
  musician guitarist drummer pianist violinist singer dancer painter photographer teacher student doctor nurse
  firefighter police officer worker carpenter mechanic gardener waiter tourist crowd audience team soldier clown`);
const objects = words(`car truck bus train tram bicycle motorcycle scooter boat ship canoe kayak airplane helicopter rocket
  balloon kite umbrella chair table bench sofa bed lamp clock mirror window door fence gate bridge tower castle church
  house cottage barn tent cabin skyscraper lighthouse fountain statue sculpture painting photograph book newspaper
  letter envelope bottle glass cup mug bowl plate spoon fork knife pot kettle oven stove fridge sink bathtub shower
  towel pillow blanket carpet curtain basket bucket ladder hammer saw drill shovel rake wheelbarrow tractor guitar
  piano violin cello trumpet saxophone flute clarinet harp drum tambourine microphone speaker radio television
  computer laptop keyboard phone camera telescope microscope backpack suitcase wallet hat cap scarf glove boot shoe
  sandal jacket coat sweater shirt dress skirt trousers jeans necklace bracelet ring watch candle lantern flag sign
  ball racket bat skateboard surfboard snowboard sled wagon stroller cart anchor rope net chain wheel engine siren
  whistle bell alarm horn typewriter printer vacuum blender toaster kettle hairdryer fan heater`);
const foods = words(`apple banana orange lemon grape strawberry cherry peach pear pineapple mango watermelon melon tomato
  potato carrot onion garlic pepper cucumber lettuce cabbage broccoli mushroom bread sandwich pizza pasta noodles rice
  soup salad cake cookie pie donut muffin pancake waffle cheese butter egg sausage burger chocolate candy coffee tea
  juice milk lemonade icecream`);
const places = words(`beach forest jungle desert mountain valley canyon meadow field farm garden park playground street
  road highway alley market square harbor port dock river lake pond ocean sea waterfall island cave glacier volcano
  village town city downtown suburb station airport stadium arena theater museum library school classroom kitchen
  bathroom bedroom hallway attic basement garage office factory warehouse workshop bakery restaurant cafe bar
  supermarket hospital church temple palace courtyard rooftop balcony porch backyard campsite swamp prairie tundra
  orchard vineyard greenhouse zoo aquarium circus carnival concert festival parade`);
const colors = words(`red orange yellow green blue purple violet pink brown black white gray grey golden silver crimson
  scarlet turquoise teal navy beige ivory maroon olive lavender amber emerald`);
const adjectives = words(`small large tiny huge big little old young new ancient modern wooden metal plastic glass stone
  shiny dusty muddy wet dry snowy sunny cloudy foggy rainy windy stormy bright dark dim colorful pale striped spotted
  fluffy furry smooth rough soft hard heavy light empty crowded quiet noisy busy lonely happy sleepy hungry curious
  playful angry calm peaceful beautiful ugly broken rusty clean dirty fresh ripe frozen hot cold warm cozy tall short
  narrow wide steep flat round square crooked wild tame friendly fierce elegant clumsy graceful`);
const verbsIng = words(`running walking jumping sitting standing sleeping eating drinking playing swimming flying climbing
  riding driving reading writing painting singing dancing laughing crying shouting whispering barking meowing
  chirping buzzing roaring howling splashing rolling spinning falling floating sailing racing chasing carrying
  holding throwing catching kicking pushing pulling cooking baking cutting washing cleaning building digging
  planting watering fishing skating skiing surfing hiking camping waving smiling looking watching listening
  resting waiting crossing crashing ringing ticking humming whistling clapping knocking rustling dripping
  pouring boiling sizzling crackling rumbling thundering honking beeping purring growling hissing quacking
  squeaking tapping drumming strumming typing snoring yawning sneezing coughing giggling cheering`);
const verbsS = words(`runs walks jumps sits stands sleeps eats drinks plays swims flies climbs rides drives reads writes
  paints sings dances laughs barks meows chirps buzzes roars howls splashes rolls spins falls floats sails races
  chases carries holds throws catches kicks pushes pulls cooks bakes cuts washes cleans builds digs plants waters
  waves smiles watches listens rests waits crosses crashes rings ticks hums whistles claps knocks rustles drips
  pours boils sizzles crackles rumbles honks beeps purrs growls hisses quacks squeaks taps snores yawns sneezes`);
const sounds = words(`sound noise music melody song tune rhythm beat chorus echo rumble roar crash bang thud clang
  clatter rattle buzz hum whistle whisper murmur chatter laughter applause footsteps heartbeat engine rain thunder
  wind waves birdsong siren alarm horn bell chime ringtone static hiss crackle sizzle drip splash squeak creak
  screech howl growl purr bark chirp tweet`);
const adverbs = words(`slowly quickly loudly softly quietly gently happily sadly calmly nervously steadily suddenly
  repeatedly rhythmically faintly brightly lazily carefully playfully proudly`);
const preps = words(`on in under over near beside behind above below across along around through between inside outside`);
const times = words(`morning afternoon evening night dawn dusk sunset sunrise midnight noon winter spring summer autumn`);
const numbers = words(`two three four five six seven eight nine ten several many a few`);
const shots = words(`photo picture image photograph snapshot painting drawing sketch illustration close-up portrait
  recording clip video`);

const plants = words(`tree oak pine maple birch willow palm cactus fern moss grass flower rose tulip daisy sunflower lily
  orchid lotus poppy lavender ivy bamboo bush hedge vine seaweed mushroom clover dandelion thistle reed cedar cypress
  elm ash spruce magnolia jasmine marigold petunia violet hyacinth daffodil heather sage thyme basil mint rosemary`);
const nature = words(`sky cloud rainbow sun moon star comet storm lightning snow hail sleet frost ice puddle stream creek
  brook wave tide sand pebble rock boulder cliff hill ridge peak slope dune trail path meadow shore coast bay reef
  lagoon marsh fog mist breeze gust smoke fire flame ember ash dust mud leaf leaves branch root trunk bark log stump
  feather shell nest web burrow horizon shadow reflection silhouette spark`);
const materials = words(`wood metal steel iron copper brass bronze gold silver aluminum plastic rubber leather cotton wool
  silk linen denim velvet paper cardboard glass crystal ceramic porcelain clay concrete brick marble granite
  sandstone slate gravel straw wicker bamboo canvas nylon polyester foam wax`);
const body = words(`head face eye ear nose mouth lip tooth teeth tongue hair beard mustache neck shoulder arm elbow wrist
  hand finger thumb nail chest back belly hip leg knee ankle foot toe heel skin paw claw tail wing beak fin horn
  antler mane whisker fur scale feather`);
const feelings = words(`joyful cheerful gloomy anxious excited bored proud shy brave scared surprised confused relaxed
  tired energetic grumpy silly serious thoughtful dreamy mysterious magical spooky cheerless delightful
  wonderful terrible marvelous gorgeous charming adorable lovely pleasant dreadful peculiar ordinary unusual
  enormous gigantic miniature massive slender chubby skinny muscular wrinkled polished glittering sparkling
  glowing shimmering flickering blurry sharp crisp vivid faded vintage antique futuristic rustic industrial
  tropical arctic rural urban medieval victorian`);
const verbsEd = words(`parked abandoned painted decorated covered filled surrounded lit illuminated reflected stacked
  scattered hidden buried frozen melted burned cracked shattered folded wrapped tied opened closed locked
  crowded deserted flooded soaked sunlit moonlit shaded framed carved woven knitted stitched printed polished
  balanced perched curled stretched tangled twisted piled arranged displayed recorded captured photographed
  filmed muffled amplified distorted echoed`);
const adverbs2 = words(`gracefully clumsily eagerly patiently angrily cheerfully silently noisily smoothly roughly
  brilliantly dimly warmly coldly boldly shyly wildly neatly sloppily tenderly fiercely merrily sleepily`);
const instruments = words(`accordion banjo bagpipes harmonica mandolin ukulele xylophone marimba trombone tuba oboe bassoon
  harpsichord organ synthesizer cymbal gong triangle maracas bongos tabla sitar didgeridoo kazoo recorder`);

const names = words(`anna ben carla david elena felix grace hugo iris jack kate liam maya noah olga peter quinn rosa sam
  tara umar vera will xena yusuf zoe amara bruno chloe dmitri esther farid giulia hiro ingrid jonas keiko lars
  mateo nadia oscar priya rafael sofia tomas ursula viktor wen yara`);
const jobs = words(`architect astronaut athlete baker barber beekeeper blacksmith butcher captain cashier
  conductor cowboy dentist detective diver editor electrician engineer explorer florist goalkeeper guard hunter
  janitor jockey journalist judge knight lawyer librarian lifeguard magician mayor miner monk navigator painter
  pharmacist plumber poet postman potter priest prince princess professor queen referee sailor scientist
  sheriff shepherd surgeon tailor trainer umpire vet weaver wizard`);
const regions = words(`africa asia europe america australia antarctica canada mexico brazil argentina chile peru
  norway sweden finland iceland ireland scotland england france spain portugal italy germany austria poland
  greece turkey egypt morocco kenya nigeria india china japan korea vietnam thailand indonesia zealand hawaii
  alaska texas california london paris berlin madrid rome vienna prague lisbon dublin oslo tokyo kyoto seoul
  beijing delhi mumbai cairo nairobi sydney melbourne toronto montreal chicago boston seattle`);

// Derived forms, so the vocabulary also learns English suffixes (-er, -est, -ness).
const stem = (w) => (/[^aeiouy][aeiou][bdgmnpt]$/.test(w) && w.length <= 4 ? w + w.at(-1) : /e$/.test(w) ? w.slice(0, -1) : /[^aeiou]y$/.test(w) ? `${w.slice(0, -1)}i` : w);
const shortAdjectives = adjectives.filter((w) => w.length <= 6 && !/(ed|ing|ful|ous)$/.test(w) && !['metal', 'glass', 'stone', 'plastic'].includes(w));
const lyAdverb = (w) => (/le$/.test(w) ? `${w.slice(0, -1)}y` : /[^aeiou]y$/.test(w) ? `${w.slice(0, -1)}ily` : `${w}ly`);
const comparative = (w) => `${stem(w)}er`;
const superlative = (w) => `${stem(w)}est`;
const ness = (w) => `${/[^aeiou]y$/.test(w) ? `${w.slice(0, -1)}i` : w}ness`;
const baseVerb = (w) => w.replace(/(ss|sh|ch|x|z)es$/, '$1').replace(/([^aeiou])ies$/, '$1y').replace(/s$/, '');

const PLURAL = { man: 'men', woman: 'women', child: 'children', mouse: 'mice', goose: 'geese', sheep: 'sheep',
  deer: 'deer', fish: 'fish', moose: 'moose', bison: 'bison', salmon: 'salmon', trout: 'trout', knife: 'knives',
  wolf: 'wolves', leaf: 'leaves', tooth: 'teeth', foot: 'feet', person: 'people', police: 'police', calf: 'calves',
  shelf: 'shelves', scarf: 'scarves', buffalo: 'buffaloes', tomato: 'tomatoes', potato: 'potatoes', volcano: 'volcanoes' };
const plural = (w) => {
  const last = w.split(' ').pop();
  const head = w.slice(0, w.length - last.length);
  if (PLURAL[last]) return head + PLURAL[last];
  if (/(s|x|z|ch|sh)$/.test(last)) return `${w}es`;
  if (/[^aeiou]y$/.test(last)) return `${w.slice(0, -1)}ies`;
  return `${w}s`;
};

const thing = () => pick([pick(animals), pick(people), pick(jobs), pick(objects), pick(foods), pick(plants), pick(nature), pick(instruments)]);
const adjective = () => pick([pick(adjectives), pick(feelings), pick(colors), pick(verbsEd), pick(materials)]);
const adjThing = () => (rand() < 0.6 ? `${adjective()} ${thing()}` : thing());
const article = (w) => (/^[aeiou]/.test(w) ? 'an' : 'a');
const np = () => {
  const t = adjThing();
  return rand() < 0.15 ? `${pick(numbers)} ${plural(t)}` : `${article(t)} ${t}`;
};
const place = () => {
  const p = pick(places);
  return `${rand() < 0.5 ? 'the' : article(p)} ${p}`;
};

const templates = [
  () => `${article(pick(shots))} ${pick(shots)} of ${np()} ${pick(verbsIng)} ${pick(preps)} ${place()}.`,
  () => `${np()} ${pick(verbsIng)} ${pick(preps)} ${np()} at ${pick(times)}.`,
  () => `the ${pick(sounds)} of ${np()} ${pick(verbsIng)} ${pick(adverbs)}.`,
  () => `${np()} ${pick(verbsS)} ${pick(adverbs)} while ${np()} ${pick(verbsS)} nearby.`,
  () => `you can hear ${np()} ${pick(verbsIng)} in the background, and ${article(pick(sounds))} ${pick(sounds)}!`,
  () => `${pick(colors)} and ${pick(colors)} ${plural(pick(objects))} ${pick(preps)} ${place()} on a ${pick(adjectives)} ${pick(times)}.`,
  () => `a recording of ${pick(sounds)} and ${pick(sounds)}, ${Math.floor(rand() * 60) + 1} seconds long.`,
  () => `there are ${Math.floor(rand() * 20) + 2} ${plural(pick(animals))} ${pick(verbsIng)} ${pick(preps)} ${place()}.`,
  () => `${np()} is ${pick(verbsIng)} next to ${np()} — it's ${pick(adjectives)} and ${pick(adjectives)}.`,
  () => `"${pick(adjectives)} ${pick(sounds)}" (${pick(times)}, ${pick(places)}) ...`,
  () => `close-up of ${np()}'s ${pick(['face', 'paws', 'hands', 'eyes', 'wheels', 'handle', 'strings', 'keys', 'feathers', 'tail'])} ${pick(preps)} ${np()}.`,
  () => `${np()} made of ${pick(materials)}, ${pick(verbsEd)} ${pick(adverbs2)} with ${pick(materials)} ${pick(body)}s.`,
  () => `someone plays the ${pick(instruments)} ${pick(adverbs2)} as ${np()} ${pick(verbsS)} ${pick(preps)} the ${pick(nature)}.`,
  () => `${pick(feelings)} ${pick(sounds)}: ${np()} with ${pick(adjectives)} ${pick(body)}, ${pick(verbsEd)} by ${np()}.`,
  () => `${pick(names)} from ${pick(regions)} likes to ${baseVerb(pick(verbsS))} ${pick(preps)} the ${pick(places)}.`,
  () => `the ${superlative(pick(shortAdjectives))} ${thing()} in ${pick(regions)} is ${comparative(pick(shortAdjectives))} than ${np()}.`,
  () => `${pick(names)}'s ${pick(objects)} has a ${pick(adjectives)} ${ness(pick(shortAdjectives))} to it; ${pick(names)} didn't notice.`,
  () => `${np()} ${pick(verbsS)} ${lyAdverb(pick(feelings.filter((w) => !/(ed|ing)$/.test(w))))}, ${lyAdverb(pick(shortAdjectives))} and ${pick(adverbs2)}.`,
  () => `what does ${np()} sound like when it's ${pick(verbsIng)}? ${pick(adverbs)} ${pick(verbsIng)}, they'd say.`,
];

const lines = [];
let bytes = 0;
while (bytes < targetBytes) {
  let s = pick(templates)();
  s = s[0].toUpperCase() + s.slice(1);
  lines.push(s);
  bytes += Buffer.byteLength(s) + 1;
}
const text = lines.join('\n') + '\n';
if (outPath) writeFileSync(outPath, text);
else process.stdout.write(text);
