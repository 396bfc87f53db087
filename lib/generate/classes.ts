/**
 * The 42 characters of the embedded default dataset.
 *
 * The groups are chosen so that the augmentation findings we reproduce are
 * testable: several groups differ only by colour (hue jitter hurts), one pair
 * only by left/right (horizontal flip hurts), one pair only by up/down
 * (rotation hurts), and some classes carry printed text (flips mirror it).
 */

export type GroupKind = "colour" | "direction" | "shape";

export interface CharacterGroup {
  name: string;
  /** What mainly tells the classes of this group apart. */
  toldApartBy: GroupKind;
}

export interface CharacterClass {
  /** snake_case folder name, also the label. */
  name: string;
  /** Unicode codepoint(s), lowercase hex joined by "-", without the FE0F variation selector. */
  codepoint: string;
  group: string;
  /** Whether products of this class usually carry the character's name as printed text. */
  printsName: boolean;
}

export const GROUPS: readonly CharacterGroup[] = [
  { name: "hearts", toldApartBy: "colour" },
  { name: "books", toldApartBy: "colour" },
  { name: "apples", toldApartBy: "colour" },
  { name: "circles", toldApartBy: "colour" },
  { name: "pointing_sideways", toldApartBy: "direction" },
  { name: "pointing_vertical", toldApartBy: "direction" },
  { name: "animals", toldApartBy: "shape" },
  { name: "faces", toldApartBy: "shape" },
  { name: "objects", toldApartBy: "shape" },
];

function c(name: string, codepoint: string, group: string, printsName = false): CharacterClass {
  return { name, codepoint, group, printsName };
}

export const EMBEDDED_CLASSES: readonly CharacterClass[] = [
  c("red_heart", "2764", "hearts"),
  c("orange_heart", "1f9e1", "hearts"),
  c("yellow_heart", "1f49b", "hearts"),
  c("green_heart", "1f49a", "hearts"),
  c("blue_heart", "1f499", "hearts"),
  c("purple_heart", "1f49c", "hearts"),

  c("red_book", "1f4d5", "books"),
  c("green_book", "1f4d7", "books"),
  c("blue_book", "1f4d8", "books"),
  c("orange_book", "1f4d9", "books"),

  c("red_apple", "1f34e", "apples"),
  c("green_apple", "1f34f", "apples"),

  c("red_circle", "1f534", "circles"),
  c("yellow_circle", "1f7e1", "circles"),
  c("green_circle", "1f7e2", "circles"),
  c("blue_circle", "1f535", "circles"),

  c("backhand_index_pointing_left", "1f448", "pointing_sideways"),
  c("backhand_index_pointing_right", "1f449", "pointing_sideways"),
  c("backhand_index_pointing_up", "1f446", "pointing_vertical"),
  c("backhand_index_pointing_down", "1f447", "pointing_vertical"),

  c("dog", "1f436", "animals"),
  c("cat", "1f431", "animals"),
  c("fox", "1f98a", "animals", true),
  c("bear", "1f43b", "animals"),
  c("panda", "1f43c", "animals", true),
  c("tiger", "1f42f", "animals"),
  c("lion", "1f981", "animals"),
  c("pig", "1f437", "animals"),
  c("frog", "1f438", "animals", true),
  c("penguin", "1f427", "animals"),
  c("owl", "1f989", "animals"),
  c("octopus", "1f419", "animals", true),
  c("unicorn", "1f984", "animals", true),

  c("grinning_face", "1f600", "faces"),
  c("sunglasses_face", "1f60e", "faces"),
  c("robot", "1f916", "faces", true),
  c("ghost", "1f47b", "faces", true),
  c("alien", "1f47d", "faces", true),

  c("rocket", "1f680", "objects", true),
  c("soccer_ball", "26bd", "objects"),
  c("guitar", "1f3b8", "objects"),
  c("cactus", "1f335", "objects"),
];

/** The text printed on products of a class, e.g. "PANDA". */
export function printedName(cls: CharacterClass): string {
  return cls.name.replace(/_/g, " ").toUpperCase();
}
