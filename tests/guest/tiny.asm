; virtdeck tiny test guest: a 512-byte x86 real-mode boot sector used as a raw disk.
;
;   nasm -f bin -o tiny.img tests/guest/tiny.asm      (exactly 512 bytes)
;
; On COM1 (0x3f8, 115200 8N1) it prints
;   "\r\nVIRTDECK TINY GUEST READY\r\n> "
; then echoes typed characters; on Enter (CR, LF or CRLF) it prints
;   "\r\necho: <line>\r\n> "
; Backspace/DEL edits the line (64 chars max, extra input is dropped).
; Ctrl-F floods: it prints "VIRTDECK TINY GUEST READY\r\n" FLOOD times (64 KiB), then a prompt
; (console test: the UI keeps answering). QEMU paces the UART at 115200 baud (~11 KB/s), so
; this takes ~6 s; a megabyte would take 90 s, which the benchmark pushes through a socket pair.
; The line "poweroff" powers the VM off through the ACPI PM1a control port
; (PM1_CNT = PMBASE+4, SLP_EN; 0x604 and 0xb004 are written too for safety).
; The ACPI power button (`virsh shutdown`) is polled in PM1_STS (PMBASE+0, bit 8)
; and also powers the VM off. PMBASE is read from PCI config space: PIIX4 PM
; (00:01.3, reg 0x40; i440fx 'pc') or ICH9 LPC (00:1f.0, reg 0x40; q35), falling back
; to 0x600. SeaBIOS 1.16 (Debian 12, QEMU 7.2) programs 0x600 on both machines;
; older SeaBIOS used 0xb000. Before powering off it prints
;   "VIRTDECK TINY GUEST POWEROFF\r\n"
; (preceded by "\r\nACPI power button\r\n" for the power button path).
;
; Idle loop: busy-polls COM1 and the PM1 status for SPIN iterations, then `hlt`s
; until the next timer tick (PIT IRQ0, 18.2 Hz as left by the BIOS), so the vCPU
; burns a share of a host core (cpu.time keeps rising, ~20%) without pinning one.
; IRQ0 is served by our own handler (EOI only): SeaBIOS's handler runs its serial
; console (sercon, enabled by <bios useserial='yes'/>, i.e. QEMU graphics=off),
; which reads COM1 on every tick and would steal typed characters.
; Needs <features><acpi/></features> in the domain XML for the power button.

bits 16
org 0x7c00

COM1     equ 0x3f8
PMVAR    equ 0x05f2          ; word: ACPI PM I/O base found at boot
PWRBTN   equ 0x0100          ; PM1_STS / PM1_EN bit 8
SLP_EN   equ 0x2000          ; PM1_CNT bit 13, SLP_TYP 0 = S5 on QEMU
BUF      equ 0x0600          ; line buffer (free conventional memory)
BUFMAX   equ 64
LASTCR   equ 0x05f0          ; 1 if the previous character was CR
SPIN     equ 500             ; busy polls per timer tick
FLOOD    equ 2428            ; 27-byte lines in 64 KiB (rounded up)

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    jmp 0:.cs0                  ; normalise CS:IP to 0000:7cxx
.cs0:
    cld
    mov byte [LASTCR], 0

    ; COM1: no interrupts, 115200 baud (divisor 1), 8N1, FIFOs on, DTR+RTS
    mov dx, COM1+1
    xor al, al
    out dx, al                  ; IER = 0
    mov dx, COM1+3
    mov al, 0x80
    out dx, al                  ; LCR: DLAB
    mov dx, COM1
    mov al, 1
    out dx, al                  ; DLL = 1
    inc dx
    xor al, al
    out dx, al                  ; DLM = 0
    mov dx, COM1+3
    mov al, 0x03
    out dx, al                  ; LCR: 8N1
    dec dx
    mov al, 0xc7
    out dx, al                  ; FCR: enable + clear FIFOs
    mov dx, COM1+4
    mov al, 0x03
    out dx, al                  ; MCR: DTR, RTS

    ; ACPI PM base from PCI config space: PIIX4 PM 00:01.3, else ICH9 LPC 00:1f.0
    mov eax, 0x80000b40
    call pci_read
    cmp ax, 0xffff
    jne .pm_found
    mov eax, 0x8000f840
    call pci_read
    cmp ax, 0xffff
    jne .pm_found
    xor ax, ax
.pm_found:
    and ax, 0xffc0
    jnz .pm_ok
    mov ax, 0x0600              ; not programmed / not found: SeaBIOS default
.pm_ok:
    mov [PMVAR], ax

    ; ACPI: clear a stale power-button status, enable the power-button event
    ; (QEMU only latches the button press while PWRBTN_EN is set).
    mov dx, ax
    mov ax, PWRBTN
    out dx, ax                  ; PM1_STS (write 1 to clear)
    add dx, 2
    out dx, ax                  ; PM1_EN

    mov word [8*4], irq0        ; own IRQ0 (int 08h) handler, see above
    mov word [8*4+2], 0
    sti                         ; timer tick wakes the idle hlt
    mov si, banner
    call puts

new_line:
    xor bx, bx                  ; bx = line length
    mov si, prompt
    call puts

idle:
    mov cx, SPIN
.poll:
    mov dx, [PMVAR]
    in ax, dx
    cmp ax, 0xffff              ; no PM device decoded there: ignore
    je .serial
    test ah, PWRBTN >> 8
    jnz power_button
.serial:
    mov dx, COM1+5
    in al, dx                   ; LSR
    test al, 1                  ; data ready
    jnz got_char
    loop .poll
    hlt
    jmp idle

got_char:
    mov dx, COM1
    in al, dx
    mov ah, [LASTCR]
    mov byte [LASTCR], 0
    cmp al, 10
    jne .not_lf
    test ah, ah
    jnz idle                    ; LF of a CRLF pair: already handled
    jmp enter
.not_lf:
    cmp al, 13
    jne .not_cr
    mov byte [LASTCR], 1
    jmp enter
.not_cr:
    cmp al, 6                   ; Ctrl-F
    je flood
    cmp al, 8
    je .backspace
    cmp al, 127
    je .backspace
    cmp al, ' '
    jb idle                     ; other control characters: ignore
    cmp bx, BUFMAX
    jae idle                    ; line full: drop
    mov [BUF+bx], al
    inc bx
    call putc                   ; echo
    jmp idle
.backspace:
    test bx, bx
    jz idle
    dec bx
    mov si, rubout
    call puts
    jmp idle

flood:
    mov bp, FLOOD
.line:
    mov si, banner+2
    call puts
    dec bp
    jnz .line
    jmp new_line

enter:
    mov byte [BUF+bx], 0
    mov si, echo_pre
    call puts
    mov si, BUF
    call puts
    mov si, crlf
    call puts
    mov si, BUF
    mov di, cmd_poweroff
    mov cx, cmd_poweroff_len
    repe cmpsb
    je poweroff
    jmp new_line

power_button:
    mov ax, PWRBTN
    out dx, ax                  ; dx = PM1_STS: acknowledge
    mov si, msg_button
    call puts

poweroff:
    mov si, msg_off
    call puts
    mov dx, COM1+5
.drain:
    in al, dx
    test al, 0x40               ; transmitter empty
    jz .drain
    cli
    mov ax, SLP_EN
    mov dx, [PMVAR]
    add dx, 4
    out dx, ax                  ; PM1a_CNT: S5
    mov dx, 0x604
    out dx, ax                  ; SeaBIOS >= 1.16 default
    mov dx, 0xb004
    out dx, ax                  ; older SeaBIOS default (PIIX4)
.halt:
    hlt
    jmp .halt

irq0:
    push ax
    mov al, 0x20
    out 0x20, al                ; EOI to the master PIC
    pop ax
    iret

; eax = PCI config address -> eax = config dword
pci_read:
    mov dx, 0xcf8
    out dx, eax
    mov dl, 0xfc
    in eax, dx
    ret

; si -> NUL-terminated string
puts:
    lodsb
    test al, al
    jz .done
    call putc
    jmp puts
.done:
    ret

; al = character
putc:
    push dx
    push ax
    mov dx, COM1+5
.wait:
    in al, dx
    test al, 0x20               ; THR empty
    jz .wait
    pop ax
    mov dx, COM1
    out dx, al
    pop dx
    ret

banner       db 13, 10, "VIRTDECK TINY GUEST READY", 13, 10, 0
prompt       db "> ", 0
echo_pre     db 13, 10, "echo: ", 0
crlf         db 13, 10, 0
rubout       db 8, " ", 8, 0
msg_button   db 13, 10, "ACPI power button", 13, 10, 0
msg_off      db "VIRTDECK TINY GUEST POWEROFF", 13, 10, 0
cmd_poweroff db "poweroff", 0
cmd_poweroff_len equ $ - cmd_poweroff

    times 510 - ($ - $$) db 0
    dw 0xaa55
